/*
 * Compile-only stub for `make android-check`: the part of the Android SDK (API 36, android.jar)
 * that the app calls, with the platform's signatures. Never packaged; Gradle builds against the
 * real SDK. Add a method here when the app starts calling it.
 */
package android.content;

public interface DialogInterface {
    int BUTTON_POSITIVE = -1;
    int BUTTON_NEGATIVE = -2;

    void cancel();

    void dismiss();

    interface OnClickListener {
        void onClick(DialogInterface dialog, int which);
    }
}
