package io.umh;

/**
 * The signals a helper is commonly sent, for {@link UsermodeProcess#sendSignal(Signal)}; any other
 * number (a real-time signal, say) goes through {@link UsermodeProcess#sendSignal(int)}. The
 * numbers are Linux's (the same on x86_64 and aarch64), checked against the C headers at build.
 */
public enum Signal {
    /** 1: hang-up; daemons take it as "reload your configuration". */
    SIGHUP(Abi.SIGHUP),
    /** 2: interrupt, what Ctrl-C sends. */
    SIGINT(Abi.SIGINT),
    /** 3: quit (with a core dump by default). */
    SIGQUIT(Abi.SIGQUIT),
    /** 9: kill; cannot be caught ({@link UsermodeProcess#destroyForcibly()}). */
    SIGKILL(Abi.SIGKILL),
    /** 10: user-defined. */
    SIGUSR1(Abi.SIGUSR1),
    /** 12: user-defined. */
    SIGUSR2(Abi.SIGUSR2),
    /** 13: broken pipe. */
    SIGPIPE(Abi.SIGPIPE),
    /** 14: alarm clock. */
    SIGALRM(Abi.SIGALRM),
    /** 15: terminate ({@link UsermodeProcess#destroy()}). */
    SIGTERM(Abi.SIGTERM),
    /** 18: continue a stopped process. */
    SIGCONT(Abi.SIGCONT),
    /** 19: stop; cannot be caught. */
    SIGSTOP(Abi.SIGSTOP),
    /** 20: stop from the terminal (Ctrl-Z); can be caught. */
    SIGTSTP(Abi.SIGTSTP),
    /** 28: the terminal's window size changed. */
    SIGWINCH(Abi.SIGWINCH);

    private final int number;

    Signal(int number) {
        this.number = number;
    }

    /** The kernel's number for this signal. */
    public int number() {
        return number;
    }
}
