/*
 * Compile-only stub for `make android-check`: the part of the Android SDK (API 36, android.jar)
 * that the app calls, with the platform's signatures. Never packaged; Gradle builds against the
 * real SDK. Add a method here when the app starts calling it.
 */
package android.app;

import android.content.Context;
import android.content.DialogInterface;

public class AlertDialog extends Dialog implements DialogInterface {
    protected AlertDialog(Context context) { throw new RuntimeException("Stub!"); }

    public static class Builder {
        public Builder(Context context) { throw new RuntimeException("Stub!"); }

        public Builder setTitle(int titleId) { throw new RuntimeException("Stub!"); }

        public Builder setTitle(CharSequence title) { throw new RuntimeException("Stub!"); }

        public Builder setMessage(CharSequence message) { throw new RuntimeException("Stub!"); }

        public Builder setPositiveButton(int textId, DialogInterface.OnClickListener listener) {
            throw new RuntimeException("Stub!");
        }

        public Builder setNegativeButton(int textId, DialogInterface.OnClickListener listener) {
            throw new RuntimeException("Stub!");
        }

        public Builder setCancelable(boolean cancelable) { throw new RuntimeException("Stub!"); }

        public AlertDialog create() { throw new RuntimeException("Stub!"); }

        public AlertDialog show() { throw new RuntimeException("Stub!"); }
    }
}
