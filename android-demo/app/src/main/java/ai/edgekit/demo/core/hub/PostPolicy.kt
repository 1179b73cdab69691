package ai.edgekit.demo.core.hub

/**
 * When the app sends a training update on its own (background work the user did not ask
 * for): only on an unmetered network, and not on a low battery unless charging, the threshold
 * the hub holds a download back at (`LOW_BATTERY` in `server/edgekit_server/hub/service.py`).
 * A network the device did not report counts as metered. [waitFor] names what to wait for with
 * the hub's own words ("wifi", "charging"), or null when the update may go now.
 */
object PostPolicy {
    /** Share of charge below which a device that is not charging keeps its update. */
    const val LOW_BATTERY = 0.2

    fun waitFor(report: DeviceReport): String? {
        val battery = report.battery
        return when {
            report.wifi != true -> "wifi"
            report.charging != true && battery != null && battery < LOW_BATTERY -> "charging"
            else -> null
        }
    }
}
