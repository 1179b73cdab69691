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
        public static final int train_panel = 0x7f080008;
        public static final int hub_panel = 0x7f080009;
        public static final int train_word = 0x7f08000a;
        public static final int train_record = 0x7f08000b;
        public static final int train_counts = 0x7f08000c;
        public static final int train_personalise = 0x7f08000d;
        public static final int train_enrol = 0x7f08000e;
        public static final int train_cancel = 0x7f08000f;
        public static final int train_progress = 0x7f080010;
        public static final int train_status = 0x7f080011;
        public static final int hub_status = 0x7f080012;
        public static final int hub_sync = 0x7f080013;
        public static final int hub_result = 0x7f080014;
    }

    public static final class layout {
        public static final int activity_main = 0x7f0b0001;
        public static final int panel_bundle = 0x7f0b0002;
        public static final int panel_listen = 0x7f0b0003;
        public static final int panel_train = 0x7f0b0004;
        public static final int panel_hub = 0x7f0b0005;
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
        public static final int bundle_from_hub = 0x7f100011;
        public static final int bundle_pushed = 0x7f100012;
        public static final int bundle_model = 0x7f100013;
        public static final int version_failed = 0x7f100014;
        public static final int no_state = 0x7f100015;
        public static final int state_damaged_title = 0x7f100016;
        public static final int state_damaged = 0x7f100017;
        public static final int state_start_again = 0x7f100018;
        public static final int state_not_now = 0x7f100019;
        public static final int state_kept = 0x7f10001a;
        public static final int train_title = 0x7f10001b;
        public static final int train_word_hint = 0x7f10001c;
        public static final int train_record = 0x7f10001d;
        public static final int train_personalise = 0x7f10001e;
        public static final int train_enrol = 0x7f10001f;
        public static final int train_cancel = 0x7f100020;
        public static final int train_no_bundle = 0x7f100021;
        public static final int train_idle = 0x7f100022;
        public static final int train_denied = 0x7f100023;
        public static final int train_speak = 0x7f100024;
        public static final int train_record_failed = 0x7f100025;
        public static final int train_recorded = 0x7f100026;
        public static final int train_not_saved = 0x7f100027;
        public static final int train_started = 0x7f100028;
        public static final int train_progress = 0x7f100029;
        public static final int train_refused = 0x7f10002a;
        public static final int train_cancelled = 0x7f10002b;
        public static final int train_diverged = 0x7f10002c;
        public static final int train_done = 0x7f10002d;
        public static final int train_count = 0x7f10002e;
        public static final int train_count_new = 0x7f10002f;
        public static final int train_count_resting = 0x7f100030;
        public static final int hub_title = 0x7f100031;
        public static final int hub_sync = 0x7f100032;
        public static final int hub_syncing = 0x7f100033;
        public static final int hub_no_config = 0x7f100034;
        public static final int hub_failed = 0x7f100035;
        public static final int hub_status = 0x7f100036;
        public static final int hub_not_registered = 0x7f100037;
        public static final int hub_registered = 0x7f100038;
        public static final int hub_device = 0x7f100039;
        public static final int hub_conditions = 0x7f10003a;
        public static final int hub_posted = 0x7f10003b;
        public static final int hub_published = 0x7f10003c;
        public static final int hub_held = 0x7f10003d;
        public static final int hub_post_failed = 0x7f10003e;
        public static final int hub_installed = 0x7f10003f;
        public static final int hub_waiting = 0x7f100040;
        public static final int hub_current = 0x7f100041;
    }
}
