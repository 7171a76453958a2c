#!/usr/bin/env bash
# Runs one command as root in a throwaway guest (KVM, or qemu's emulator where KVM cannot run
# it: see accel below) that has what this host lacks: a pure cgroup v2 hierarchy with memory,
# pids and cpu enabled in the root's cgroup.subtree_control (here the host binds those
# controllers to cgroup v1, for good), on Debian's 6.12 kernel (Landlock ABI 6).
# The guest's root is this host's root, read-only over 9p under an overlay in the guest's memory
# (writable, forgotten at power-off), with the working directory and ~/.m2 shared read-write at
# the same paths (Maven runs offline against it): the guest sees the host's files, tools and
# JDKs, and what the command writes there lands on the host (done by qemu, as root here).
# Usage: in_vm.sh [-m MEM] COMMAND [ARG...]   run COMMAND in the working directory, exit with its status
#        in_vm.sh --check                     exit 0 if this machine can run the guest, 3 if not
# The command's stdout and stderr both come out on stdout (the guest's serial console). Exits 3
# if the machine cannot run the guest, 124 if it ran out of time (UMH_VM_TIMEOUT seconds, 20
# minutes by default), 125 if it reported no status (it failed to boot: see its console).
# Installs qemu and a static busybox with apt if missing. The kernel is fetched with apt-get
# download and unpacked, never installed (a linux-image's hooks would touch the host's /boot);
# what the guest needs of it is kept in /var/cache/umh-vm (UMH_VM_CACHE), about 15 MB.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${UMH_VM_CACHE:-/var/cache/umh-vm}
timeout_s=${UMH_VM_TIMEOUT:-1200}
mem=4G
tmp=
qemu_pid=
fetch_dir=

die() { local code=$1; shift; echo "in_vm.sh: $*" >&2; exit "$code"; }

cleanup() {
  # qemu runs under timeout(1), which passes the signal on; then its shares can go
  if [ -n "$qemu_pid" ]; then kill "$qemu_pid" 2>/dev/null || true; wait "$qemu_pid" 2>/dev/null || true; fi
  rm -rf "$tmp" "$fetch_dir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

# --- what the machine needs ---------------------------------------------------------------

apt_updated=
apt_update() { [ -n "$apt_updated" ] || { apt-get update -q >&2 || true; apt_updated=1; }; }
installable() { [[ $(apt-cache policy "$1" 2>/dev/null) == *"Candidate: "[0-9]* ]]; }

# the packages missing here; busybox-static, not busybox: the initramfs has no libc
missing_packages() {
  command -v qemu-system-x86_64 >/dev/null || echo qemu-system-x86
  [[ $(dpkg-query -W -f='${Status}' busybox-static 2>/dev/null) == *"ok installed" ]] || echo busybox-static
}

# Debian's current 6.12 image, unsigned: the same kernel, and nothing to sign for a VM
kernel_package() {
  apt-cache depends linux-image-6.12-amd64 2>/dev/null \
    | awk '$1 == "Depends:" && $2 ~ /^linux-image-6\.12\./ && !n++ { print $2 "-unsigned" }'
}

# KVM where the processor's virtualization runs the guest (kvm_intel, kvm_amd). Any other
# /dev/kvm gets qemu's own emulator, TCG: slower, the same guest. This workplace's /dev/kvm is
# kvm_pvm, which runs only kernels built as PVM guests: a stock kernel falls into its instruction
# emulator, which dies on the decompressor's first VEX instruction (shrx) or crawls.
# UMH_VM_ACCEL=kvm|tcg overrides.
accel() {
  case ${UMH_VM_ACCEL:-} in
    kvm | tcg) echo "$UMH_VM_ACCEL" ;;
    *) if [ -d /sys/module/kvm_intel ] || [ -d /sys/module/kvm_amd ]; then echo kvm; else echo tcg; fi ;;
  esac
}

# the modules the guest loads: 9p over virtio for the host's root, overlay to make it writable
modules="9pnet_virtio 9p overlay"

# the newest kernel unpacked here with those modules
cached_kernel() {
  local d
  for d in $({ ls -d "$cache"/6.12.*/ 2>/dev/null || true; } | sort -rV); do
    [ "$(cat "$d/modules/wanted" 2>/dev/null)" != "$modules" ] || { echo "${d%/}"; return; }
  done
}

# why this machine cannot run the guest, or nothing
unusable() {
  [ "$(id -u)" -eq 0 ] || { echo "not root (qemu must read the whole host root; apt installs)"; return; }
  if [ "$(accel)" = kvm ]; then
    (exec 3<>/dev/kvm) 2>/dev/null || { echo "/dev/kvm cannot be opened (UMH_VM_ACCEL=tcg emulates)"; return; }
  fi
  local pkg
  for pkg in $(missing_packages); do
    installable "$pkg" || apt_update
    installable "$pkg" || { echo "$pkg is neither installed nor installable"; return; }
  done
  if [ -z "$(cached_kernel)" ]; then
    [ -n "$(kernel_package)" ] || apt_update
    [ -n "$(kernel_package)" ] || { echo "no cached kernel, and apt knows no linux-image-6.12-amd64"; return; }
  fi
}

install_packages() {
  local missing
  missing=$(missing_packages)
  [ -z "$missing" ] && return
  apt_update
  # shellcheck disable=SC2086 # one word per package
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing >&2
}

# --- the kernel: vmlinuz, its config, and the modules the guest's init loads -----------------

# Adds module $1 to load_order after the modules it depends on (its .modinfo's "depends=";
# Debian's package ships no modules.dep, depmod makes that at install), unpacked into $out.
# Built-in ones (virtio, virtio_pci) need nothing.
add_module() {
  local name=$1 file dep
  case " ${load_order[*]} " in *" $name "*) return ;; esac
  grep -q "/$name\.ko\$" "$mods/modules.builtin" && return
  file=$(find "$mods/kernel" -name "$name.ko.xz" -o -name "${name//_/-}.ko.xz" | head -1)
  [ -n "$file" ] || die 3 "kernel module $name not found in the package"
  for dep in $(busybox unxz -c "$file" | grep -a -o 'depends=[^[:cntrl:]]*' | cut -d= -f2 | tr , ' '); do
    add_module "$dep"
  done
  busybox unxz -c "$file" >"$out/$name.ko"
  load_order+=("$name")
}

fetch_kernel() {
  local pkg kver mods out m load_order=()
  pkg=$(kernel_package)
  echo "in_vm.sh: fetching $pkg (once, into $cache)" >&2
  mkdir -p "$cache"
  # on the cache's file system, so that the finished kernel moves in whole
  fetch_dir=$(mktemp -d "$cache/.fetch.XXXXXX")
  # root-owned directory: apt's _apt download user may not write there, say so to apt
  (cd "$fetch_dir" && apt-get download -q -o APT::Sandbox::User=root "$pkg" >&2)
  dpkg-deb -x "$fetch_dir"/*.deb "$fetch_dir/x"
  kver=$(ls "$fetch_dir/x/lib/modules")
  mods=$fetch_dir/x/lib/modules/$kver
  out=$fetch_dir/k/modules
  mkdir -p "$out"
  cp "$fetch_dir/x/boot/vmlinuz-$kver" "$fetch_dir/k/vmlinuz"
  cp "$fetch_dir/x/boot/config-$kver" "$fetch_dir/k/config"
  for m in $modules; do add_module "$m"; done
  echo "${load_order[*]}" >"$out/order"
  echo "$modules" >"$out/wanted"
  rm -rf "${cache:?}/$kver"
  mv "$fetch_dir/k" "$cache/$kver"
  rm -rf "$fetch_dir"
  fetch_dir=
}

# Landlock must be among the LSMs the guest starts; Debian's CONFIG_LSM lists it first, but say
# so on the command line should a later config drop it
lsm_arg() {
  local lsm
  lsm=$(sed -n 's/^CONFIG_LSM="\(.*\)"$/\1/p' "$kernel/config")
  case ",$lsm," in *,landlock,*) ;; *) echo "lsm=landlock,$lsm" ;; esac
}

# --- one run --------------------------------------------------------------------------------

build_initrd() {
  local root=$tmp/initrd
  mkdir -p "$root/bin" "$root/lib"
  cp /bin/busybox "$root/bin/busybox"
  cp -r "$kernel/modules" "$root/lib/modules"
  install -m 755 "$here/vm_init.sh" "$root/init"
  # uncompressed: a few MB, read by qemu from the page cache
  (cd "$root" && find . | busybox cpio -o -H newc -R 0:0 2>/dev/null) >"$tmp/initrd.cpio"
}

# The guest's command, as a bash script: a clean environment, the caller's directory, the argv
# quoted as given. It reaches the guest, and the status comes back, on the control share.
write_command() {
  {
    printf 'export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=%q' "$HOME"
    printf ' LANG=C.UTF-8 USER=root LOGNAME=root\n'
    local v
    for v in JAVA_HOME MAVEN_OPTS CI; do
      [ -z "${!v:-}" ] || printf 'export %s=%q\n' "$v" "${!v}"
    done
    printf 'cd -- %q || exit 125\n' "$PWD"
    printf 'exec'; printf ' %q' "$@"; printf '\n'
  } >"$tmp/ctl/cmd"
}

qemu_args=()
share() { # TAG DIR [ro]: a 9p export; qemu's option syntax doubles commas in values
  qemu_args+=(-virtfs "local,path=${2//,/,,},mount_tag=$1,security_model=none,multidevs=remap${3:+,readonly=on}")
}

# the read-write shares, and the order the guest mounts them: the outer path first
add_shares() {
  local m2=$HOME/.m2
  share hostroot / ro
  share ctl "$tmp/ctl"
  share work "$PWD"
  if [ ! -d "$m2" ]; then echo "work $PWD"
  elif [[ $PWD == "$m2"/* ]]; then share m2 "$m2"; printf 'm2 %s\nwork %s\n' "$m2" "$PWD"
  else share m2 "$m2"; printf 'work %s\nm2 %s\n' "$PWD" "$m2"
  fi >"$tmp/ctl/mounts"
}

run_guest() {
  local status=0 cpu=(-enable-kvm -cpu host)
  # one host thread for all vCPUs: with a thread each (MTTCG) qemu 7.2 crashed javac's JIT code
  # shellcheck disable=SC2054 # the commas are qemu's
  [ "$(accel)" = kvm ] || cpu=(-accel tcg,thread=single -cpu max)
  # quiet: only the command's output on the console; panic=-1 with -no-reboot: a guest that
  # dies (init failed, panic) ends qemu at once instead of waiting for the timeout
  # stdin /dev/null: qemu leaves the terminal alone, the command reads nothing
  timeout "$timeout_s" qemu-system-x86_64 -nodefaults -no-user-config \
    "${cpu[@]}" -smp 2 -m "$mem" -display none -serial stdio -no-reboot \
    -kernel "$kernel/vmlinuz" -initrd "$tmp/initrd.cpio" \
    -append "console=ttyS0 quiet loglevel=0 panic=-1 $(lsm_arg)" \
    "${qemu_args[@]}" </dev/null &
  qemu_pid=$!
  wait "$qemu_pid" || status=$?
  qemu_pid=
  [ "$status" -ne 124 ] || die 124 "the guest ran out of time (${timeout_s}s, UMH_VM_TIMEOUT)"
  [ "$status" -eq 0 ] || die 125 "qemu failed (status $status)"
  [ -s "$tmp/ctl/status" ] || die 125 "the guest reported no status: it did not boot or its init failed"
  return "$(cat "$tmp/ctl/status")"
}

main() {
  if [ "${1:-}" = --check ]; then
    local why
    why=$(unusable)
    [ -z "$why" ] || die 3 "cannot run a KVM guest here: $why"
    echo "in_vm.sh: this machine can run the guest (qemu accelerator: $(accel))"
    exit 0
  fi
  if [ "${1:-}" = -m ]; then mem=${2:?-m needs a size}; shift 2; fi
  [ "${1:-}" != -- ] || shift
  [ $# -gt 0 ] || die 2 "usage: in_vm.sh [-m MEM] COMMAND [ARG...] | --check"
  [ "$PWD" != / ] || die 2 "run from a directory other than / (it is shared read-write)"
  local why
  why=$(unusable)
  [ -z "$why" ] || die 3 "cannot run a KVM guest here: $why"

  install_packages
  kernel=$(cached_kernel)
  [ -n "$kernel" ] || { fetch_kernel; kernel=$(cached_kernel); }
  tmp=$(mktemp -d /tmp/umh-vm.XXXXXX)
  mkdir "$tmp/ctl"
  uname -n >"$tmp/ctl/hostname"
  build_initrd
  write_command "$@"
  add_shares
  run_guest
}

main "$@"
