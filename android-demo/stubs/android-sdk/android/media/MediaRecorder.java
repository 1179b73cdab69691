/*
 * Compile-only stub for `make android-check`: the part of the Android SDK (API 36, android.jar)
 * that the app calls, with the platform's signatures. Never packaged; Gradle builds against the
 * real SDK. Add a method here when the app starts calling it.
 */
package android.media;

public class MediaRecorder {
    public MediaRecorder() { throw new RuntimeException("Stub!"); }

    public final class AudioSource {
        private AudioSource() { throw new RuntimeException("Stub!"); }

        public static final int MIC = 1;
        public static final int VOICE_RECOGNITION = 6;
    }
}
