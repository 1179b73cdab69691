/*
 * Compile-only stub for `make android-check`: the part of the Android SDK (API 36, android.jar)
 * that the app calls, with the platform's signatures. Never packaged; Gradle builds against the
 * real SDK. Add a method here when the app starts calling it.
 */
package android.content;

import java.io.File;

public abstract class Context {
    public abstract File getFilesDir();

    public abstract File getExternalFilesDir(String type);

    public abstract int checkSelfPermission(String permission);

    public abstract Intent registerReceiver(BroadcastReceiver receiver, IntentFilter filter);

    public final <T> T getSystemService(Class<T> serviceClass) {
        throw new RuntimeException("Stub!");
    }

    public final String getString(int resId) { throw new RuntimeException("Stub!"); }

    public final String getString(int resId, Object... formatArgs) {
        throw new RuntimeException("Stub!");
    }
}
