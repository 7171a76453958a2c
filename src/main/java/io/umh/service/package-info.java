/**
 * A layer above processes: talking to a helper in framed requests and replies, and keeping
 * helpers running. It uses only the public API of {@link io.umh}, and the timer in the
 * unexported {@code io.umh.internal}.
 *
 * <ul>
 *   <li>{@link io.umh.service.UsermodeChannel}: framed requests and replies over a helper's pipes;
 *       the helper's side is {@code native/include/umh_helper.h}.
 *   <li>{@link io.umh.service.UsermodeService}: forks a helper from a blob, runs a start hook and
 *       health checks, restarts it by a policy with backoff, and gives up after too many restarts; calls wait out a
 *       restart, and idempotent ones are sent again to the next helper.
 *   <li>{@link io.umh.service.UsermodePool}: N such services of one blob behind the same calls,
 *       each call to the least busy member.
 * </ul>
 */
package io.umh.service;
