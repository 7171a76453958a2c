/**
 * A layer above processes: talking to a helper in framed requests and replies, and keeping one
 * helper running. It uses only the public API of {@link io.umh}, and the timer in the
 * unexported {@code io.umh.internal}.
 *
 * <ul>
 *   <li>{@link io.umh.service.UsermodeChannel}: framed requests and replies over a helper's pipes;
 *       the helper's side is {@code native/include/umh_helper.h}.
 *   <li>{@link io.umh.service.UsermodeService}: forks a helper from a blob, runs a start hook and
 *       health checks, restarts it by a policy with backoff, and gives up after too many restarts.
 * </ul>
 */
package io.umh.service;
