/**
 * Not API: what both of umh's exported packages use, {@code io.umh} (processes) and
 * {@code io.umh.service} (channels and services). Public only to cross between them;
 * module-info does not export this package, and its classes may change in any release.
 */
package io.umh.internal;
