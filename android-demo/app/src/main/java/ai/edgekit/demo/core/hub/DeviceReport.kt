package ai.edgekit.demo.core.hub

import ai.edgekit.demo.core.json.Json

/**
 * What the device tells the hub at check-in (null: not reported), from which the hub decides
 * whether a download should wait (`server/edgekit_server/hub/service.py`: too little free
 * storage, a low battery while not charging, a large version on a metered network). The client
 * adds the installed version, and the free bytes under its root when [freeBytes] is null.
 */
data class DeviceReport(
    val freeBytes: Long? = null,
    val battery: Double? = null, // charge, 0-1
    val charging: Boolean? = null,
    val wifi: Boolean? = null, // false: a metered network
    val accuracy: Double? = null, // 0-1, on the user's own clips
    val appVersion: String? = null,
) {
    /** The check-in body, with the fields the hub reads (`CheckInRequest`). */
    fun toJson(installed: Long?, defaultFreeBytes: Long): Json.Obj {
        val fields = LinkedHashMap<String, Json>()
        fields["free_bytes"] = Json.of(freeBytes ?: defaultFreeBytes)
        battery?.let { fields["battery"] = Json.of(it) }
        charging?.let { fields["charging"] = Json.of(it) }
        wifi?.let { fields["wifi"] = Json.of(it) }
        accuracy?.let { fields["accuracy"] = Json.of(it) }
        appVersion?.let { fields["app_version"] = Json.of(it) }
        installed?.let { fields["bundle_version"] = Json.of(it) }
        return Json.Obj(fields)
    }
}
