/**
 * Not API: the platform jar's command line ({@code java -jar umh-<version>-<platform>.jar}, Main-Class
 * {@code io.umh.cli.Cli}) and its demo. module-info does not export this package; it uses only the
 * exported API, and the platform's name from {@code io.umh.internal}.
 */
package io.umh.cli;
