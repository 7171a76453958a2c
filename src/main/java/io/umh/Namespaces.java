package io.umh;

import java.io.IOException;

/**
 * The namespaces a root JVM's sandboxed children join instead of making their own: the mount
 * namespace of a policy's root (its read-only tmpfs, directories and binds, made once per
 * policy) and one empty network namespace (loopback down) for every policy without the host's
 * network. A short-lived clone makes each (umh_sandbox_namespaces) and exits; the nsfs fds kept
 * here keep the namespaces alive. Made once, they spare each spawn what dominates a fresh one's
 * cost: a network namespace's set-up and teardown, the copy of the JVM's mount table, and the
 * two RCU grace periods of unmounting it and of freeing the namespace at the child's exit.
 *
 * <p>Joining needs CAP_SYS_ADMIN over the namespaces' owner, so only a root JVM joins: an
 * unprivileged one's fresh pid namespace needs a fresh user namespace in the same clone, and that
 * user namespace owns nothing made before it (see docs/security.md).
 */
final class Namespaces {
    private Namespaces() {}

    /** Holds the JVM's one empty network namespace: made at the first use, kept until the JVM exits. */
    private static int network = -1;

    /**
     * The mount namespace of {@code policy}'s root, made now: an fd closed when the policy becomes
     * unreachable (callers keep the policy reachable while a spawn uses the fd).
     */
    static int mount(SandboxPolicy policy, int[] header) throws IOException {
        int[] h = header.clone();
        h[Abi.SBX_NEW_ROOT] = 1;
        h[Abi.SBX_NETWORK] = 1; // the root alone: the network namespace is the shared one
        int fd = make(h, policy.paths)[0];
        UsermodeProcess.CLEANER.register(policy, () -> Native.closeQuietly(fd));
        return fd;
    }

    /** The empty network namespace's fd, made at the first call. */
    static synchronized int network(int[] header, byte[] paths) throws IOException {
        if (network < 0) {
            int[] h = header.clone();
            h[Abi.SBX_NEW_ROOT] = 0;
            h[Abi.SBX_NETWORK] = 0;
            network = make(h, paths)[1];
        }
        return network;
    }

    private static int[] make(int[] header, byte[] paths) throws IOException {
        int[] fds = {-1, -1};
        int rc = Native.sandboxNamespaces(header, paths, fds);
        if (rc < 0) {
            throw Native.error("fork: the sandbox's namespaces", rc, "");
        }
        return fds;
    }
}
