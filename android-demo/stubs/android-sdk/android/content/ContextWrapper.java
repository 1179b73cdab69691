/*
 * Compile-only stub for `make android-check`: the part of the Android SDK (API 36, android.jar)
 * that the app calls, with the platform's signatures. Never packaged; Gradle builds against the
 * real SDK. Add a method here when the app starts calling it.
 */
package android.content;

import java.io.File;

public class ContextWrapper extends Context {
    public ContextWrapper(Context base) { throw new RuntimeException("Stub!"); }

    @Override
    public File getFilesDir() { throw new RuntimeException("Stub!"); }

    @Override
    public File getExternalFilesDir(String type) { throw new RuntimeException("Stub!"); }

    @Override
    public int checkSelfPermission(String permission) { throw new RuntimeException("Stub!"); }

    @Override
    public Intent registerReceiver(BroadcastReceiver receiver, IntentFilter filter) {
        throw new RuntimeException("Stub!");
    }
}
