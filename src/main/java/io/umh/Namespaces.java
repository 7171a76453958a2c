package io.umh;

import java.io.IOException;

/**
 * The namespaces sandboxed children join instead of making their own: the mount namespace of a
 * policy's root (its read-only tmpfs, directories and binds, made once per policy) and one empty
 * network namespace (loopback down) for every policy without the host's network; for an
 * unprivileged JVM also one user namespace (the JVM's ids mapped to themselves) that owns them.
 * A short-lived clone makes each (umh_sandbox_namespaces) and exits; the nsfs fds kept here keep
 * the namespaces alive. Made once, they spare each spawn what dominates a fresh one's cost: a
 * network namespace's set-up and teardown, the copy of the JVM's mount table, and the two RCU
 * grace periods of unmounting it and of freeing the namespace at the child's exit.
 *
 * <p>A root JVM's child joins the mount and network namespaces and gets pid, ipc and uts ones
 * from its own clone (or joins the ipc namespace made with the network one, where its filter
 * refuses every IPC call: a fresh one's set-up and deferred teardown cost ~15-20 us a spawn). An unprivileged JVM's child cannot make those in a clone that joins
 * nothing (CAP_SYS_ADMIN in the JVM's user namespace), and a fresh user namespace in that clone
 * would own nothing made before it; so it joins the user namespace made once (where it has every
 * capability), the mount and network namespaces, and clones the helper from there with
 * CLONE_PARENT and its own pid, ipc and uts namespaces (umh_child_relay).
 */
final class Namespaces {
    private Namespaces() {}

    /**
     * The JVM's one empty network namespace, the ipc namespace made with it (for the policies whose
     * filters refuse every IPC call: SandboxPolicy.sharesIpc), and for an unprivileged JVM its user
     * namespace: made at the first use, kept until the JVM exits.
     */
    private static int network = -1;
    private static int ipc = -1;
    private static int user = -1;

    /**
     * The mount namespace of {@code policy}'s root, made now (inside {@code userFd}'s user
     * namespace, or -1): an fd closed when the policy becomes unreachable (callers keep the policy
     * reachable while a spawn uses the fd).
     */
    static int mount(SandboxPolicy policy, int[] header, int userFd) throws IOException {
        int[] h = header.clone();
        h[Abi.SBX_NEW_ROOT] = 1;
        h[Abi.SBX_NETWORK] = 1; // the root alone: the network namespace is the shared one
        h[Abi.SBX_JOIN_USER] = userFd;
        int fd = make(h, policy.paths)[0];
        CleanerThread.CLEANER.register(policy, new Closer(fd));
        return fd;
    }

    /** A root JVM's empty network namespace and its ipc namespace: {network fd, -1, ipc fd}, made at the first call. */
    static synchronized int[] network(int[] header, byte[] paths) throws IOException {
        if (network < 0) {
            int[] h = header.clone();
            h[Abi.SBX_NEW_ROOT] = 0;
            h[Abi.SBX_NETWORK] = 0;
            h[Abi.SBX_NS_FLAGS] &= ~Abi.CLONE_NEWUSER;
            int[] fds = make(h, paths);
            network = fds[1];
            ipc = fds[3];
        }
        return new int[] {network, -1, ipc};
    }

    /**
     * An unprivileged JVM's user namespace and the empty network and ipc namespaces it owns:
     * {network fd, user fd, ipc fd}, made at the first call.
     */
    static synchronized int[] userAndNetwork(int[] header, byte[] paths) throws IOException {
        if (user < 0) {
            int[] h = header.clone();
            h[Abi.SBX_NEW_ROOT] = 0;
            h[Abi.SBX_NETWORK] = 0;
            h[Abi.SBX_NS_FLAGS] |= Abi.CLONE_NEWUSER;
            int[] fds = make(h, paths);
            network = fds[1];
            user = fds[2];
            ipc = fds[3];
        }
        return new int[] {network, user, ipc};
    }

    private static int[] make(int[] header, byte[] paths) throws IOException {
        int[] fds = {-1, -1, -1, -1};
        int rc = Native.sandboxNamespaces(header, paths, fds);
        if (rc < 0) {
            throw Native.error("fork: the sandbox's namespaces", rc, "");
        }
        return fds;
    }
}
