/*
 * Compile-only stub for `make android-check`: the part of the Android SDK (API 36, android.jar)
 * that the app calls, with the platform's signatures. Never packaged; Gradle builds against the
 * real SDK. Add a method here when the app starts calling it.
 */
package android.net;

public final class NetworkCapabilities {
    public static final int NET_CAPABILITY_NOT_METERED = 11;

    public NetworkCapabilities() { throw new RuntimeException("Stub!"); }

    public boolean hasCapability(int capability) { throw new RuntimeException("Stub!"); }
}
