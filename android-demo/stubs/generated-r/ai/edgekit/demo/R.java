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
        public static final int bundle_panel = 0x7f080003;
        public static final int listen_panel = 0x7f080004;
        public static final int listen_toggle = 0x7f080005;
        public static final int listen_state = 0x7f080006;
        public static final int listen_detections = 0x7f080007;
    }

    public static final class layout {
        public static final int activity_main = 0x7f0b0001;
        public static final int panel_bundle = 0x7f0b0002;
        public static final int panel_listen = 0x7f0b0003;
    }

    public static final class string {
        public static final int app_name = 0x7f100001;
        public static final int loading = 0x7f100002;
        public static final int no_bundle = 0x7f100003;
        public static final int no_program = 0x7f100004;
        public static final int reload = 0x7f100005;
        public static final int listen_title = 0x7f100006;
        public static final int listen_start = 0x7f100007;
        public static final int listen_stop = 0x7f100008;
        public static final int listen_no_bundle = 0x7f100009;
        public static final int listen_idle = 0x7f10000a;
        public static final int listen_started = 0x7f10000b;
        public static final int listen_denied = 0x7f10000c;
        public static final int listen_failed = 0x7f10000d;
        public static final int listen_progress = 0x7f10000e;
        public static final int listen_none = 0x7f10000f;
        public static final int listen_detection = 0x7f100010;
    }
}
