/**
 * Runs a program's bytes as a child process from a sealed memfd, like the kernel's
 * {@code fork_usermode_blob}: no file is written, the child gets a pipe on its fd 0 and one on
 * its fd 1, and the caller owns its lifetime.
 *
 * <pre>{@code
 * try (UsermodeBlob blob = Umh.loadResource(MyService.class, "/helpers/upper");  // sealed memfd
 *      UsermodeProcess p = blob.fork()) {                                      // clone + execveat
 *     p.pipeToUmh().write("ping\n".getBytes(StandardCharsets.UTF_8));          // the helper's fd 0
 *     p.pipeToUmh().close();                                                   // EOF
 *     String reply = new String(p.pipeFromUmh().readAllBytes(), StandardCharsets.UTF_8); // its fd 1
 *     int status = p.waitFor();                                                // exit code, or 128+signal
 * }                                                                            // close: EOF, wait (2 s), kill only if still running
 * }</pre>
 *
 * <ul>
 *   <li>{@link io.umh.Umh}: load a blob ({@code load}, {@code loadResource}), or load and fork
 *       once ({@code forkUsermodeBlob}).
 *   <li>{@link io.umh.UsermodeBlob}: a loaded blob, forked as often as needed.
 *   <li>{@link io.umh.ForkOptions}: argv, environment, directory, stderr, privileges, limits.
 *   <li>{@link io.umh.UsermodeProcess}: a {@link java.lang.Process} that owns the child and its pipes.
 * </ul>
 *
 * <p>One layer up, package {@link io.umh.service} talks to a helper and keeps it running:
 * {@link io.umh.service.UsermodeChannel} (framed requests and replies over its pipes) and
 * {@link io.umh.service.UsermodeService} (restarts by a policy, hooks, health checks).
 *
 * <p>Linux only. The native shim comes in the platform jar
 * ({@code io.umh:umh:VERSION:linux-x86_64}). JDK 24 and later warn when it is loaded unless run
 * with {@code --enable-native-access=ALL-UNNAMED} on the class path, or
 * {@code --enable-native-access=io.umh} on the module path. umh logs through
 * {@link java.lang.System.Logger} {@code "io.umh"}: DEBUG and TRACE for routine events, WARNING
 * only for what needs attention.
 */
package io.umh;
