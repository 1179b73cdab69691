/*
 * Compile-only stand-in for the R class that the Android build generates from
 * app/src/main/res: the resources the app's code names. A test checks each of them against
 * the resource files.
 */
package ai.edgekit.demo;

public final class R {
    public static final class id {
        public static final int status = 0x7f080001;
        public static final int reload = 0x7f080002;
    }

    public static final class layout {
        public static final int activity_main = 0x7f0b0001;
    }

    public static final class string {
        public static final int app_name = 0x7f100001;
        public static final int loading = 0x7f100002;
        public static final int no_bundle = 0x7f100003;
        public static final int no_program = 0x7f100004;
    }
}
