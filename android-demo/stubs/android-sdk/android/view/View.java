/*
 * Compile-only stub for `make android-check`: the part of the Android SDK (API 36, android.jar)
 * that the app calls, with the platform's signatures. Never packaged; Gradle builds against the
 * real SDK. Add a method here when the app starts calling it.
 */
package android.view;

public class View {
    public static final int VISIBLE = 0;
    public static final int GONE = 8;

    public interface OnClickListener {
        void onClick(View v);
    }

    public void setOnClickListener(OnClickListener l) { throw new RuntimeException("Stub!"); }

    public final <T extends View> T findViewById(int id) { throw new RuntimeException("Stub!"); }

    public boolean isEnabled() { throw new RuntimeException("Stub!"); }

    public void setEnabled(boolean enabled) { throw new RuntimeException("Stub!"); }

    public void setVisibility(int visibility) { throw new RuntimeException("Stub!"); }
}
