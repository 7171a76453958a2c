package io.umh;

/** What a fork does when this kernel (or this process) cannot enforce a layer of its {@link SandboxPolicy}. */
public enum Enforcement {
    /** The fork throws an IOException naming each layer that cannot be enforced and why. The default. */
    REQUIRED,
    /** The fork runs with the layers that work; {@link UsermodeProcess#sandboxLayers()} says which did not, and why. */
    BEST_EFFORT
}
