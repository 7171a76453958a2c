#!/bin/busybox sh
# The guest's /init, put in a throwaway initramfs by in_vm.sh: the host's root read-only over
# 9p under an overlay, the caller's shares read-write on top at their host paths, the usual
# kernel file systems, and a pure cgroup v2 hierarchy with memory, pids and cpu enabled for its
# children (what the host, whose controllers are bound to cgroup v1, cannot give). Runs /ctl/cmd
# there, writes its exit status to /ctl/status (the control share, a host temporary directory)
# and powers off.
/bin/busybox mkdir -p /bin /proc /dev /ctl /newroot
/bin/busybox --install -s /bin
export PATH=/bin

# no status file tells the host the guest failed; say why on the console first
fail() { echo "in_vm guest: $*" >&2; poweroff -f; }

mount -t proc proc /proc
mount -t devtmpfs dev /dev
# 9p and overlay are modules in Debian's kernel (virtio and virtio_pci are built in): load them,
# dependencies first, in the order in_vm.sh resolved
for m in $(cat /lib/modules/order); do
  insmod "/lib/modules/$m.ko" || fail "insmod $m"
done

p9() { mount -t 9p -o "trans=virtio,version=9p2000.L,msize=512000,$3" "$1" "$2" || fail "mount $1 on $2"; }
r=/newroot
# the host's files do not change under a run (the shares are other mounts): cache them
mkdir -p /lower /rw
p9 hostroot /lower ro,cache=loose
# writable on top, in the guest's memory, gone at power-off: the guest's writes outside the
# shares never reach the host, and fail as on a real root (Landlock's EACCES, not EROFS)
mount -t tmpfs -o mode=755 rw /rw
mkdir -p /rw/upper /rw/work
mount -t overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work root "$r" || fail "mount overlay"
p9 ctl /ctl rw

mount -t proc proc "$r/proc"
mount -t sysfs sys "$r/sys"
# where the LSMs show themselves (/sys/kernel/security/lsm names landlock)
mount -t securityfs securityfs "$r/sys/kernel/security"
mount -t devtmpfs dev "$r/dev"
mkdir -p "$r/dev/pts" "$r/dev/shm"
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts "$r/dev/pts"
mount -t tmpfs -o mode=1777 shm "$r/dev/shm"
# devtmpfs has no /dev/fd: bash's process substitution and many tools want it
ln -sf /proc/self/fd "$r/dev/fd"
ln -sf /proc/self/fd/0 "$r/dev/stdin"
ln -sf /proc/self/fd/1 "$r/dev/stdout"
ln -sf /proc/self/fd/2 "$r/dev/stderr"
mount -t tmpfs -o mode=1777 tmp "$r/tmp"
mount -t tmpfs -o mode=755 run "$r/run"

# read-write shares, outer paths first (in_vm.sh orders them); a mount point missing (under the
# guest's /tmp) is made. cache=mmap: coherent with the host, and shared writable mmap works
while read -r tag path; do
  mkdir -p "$r$path" || fail "mkdir $path"
  p9 "$tag" "$r$path" rw,cache=mmap
done </ctl/mounts

mount -t cgroup2 -o nsdelegate,memory_recursiveprot cgroup2 "$r/sys/fs/cgroup" || fail "mount cgroup2"
echo "+memory +pids +cpu" >"$r/sys/fs/cgroup/cgroup.subtree_control" || fail "enable controllers"

# no network, but tests bind to localhost; the host's name resolves as on the host
ip link set lo up
hostname "$(cat /ctl/hostname)"
# the host's terminal adds the carriage returns itself
stty -onlcr 2>/dev/null

# switch_root, not chroot: a chrooted process may not make a user namespace (EPERM), which the
# sandbox of an unprivileged JVM needs; the control share and busybox (to power off) come along
mkdir -p "$r/run/in_vm/ctl"
cp /ctl/cmd "$r/run/in_vm/cmd"
cp /bin/busybox "$r/run/in_vm/busybox" # by that name: busybox runs the applet its file is called
mount --move /ctl "$r/run/in_vm/ctl" || fail "move /ctl"
exec switch_root "$r" /run/in_vm/busybox sh -c \
  '/usr/bin/env -i /bin/bash /run/in_vm/cmd </dev/null; echo $? >/run/in_vm/ctl/status; /run/in_vm/busybox poweroff -f'
