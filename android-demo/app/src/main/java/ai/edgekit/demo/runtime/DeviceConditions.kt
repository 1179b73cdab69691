package ai.edgekit.demo.runtime

import ai.edgekit.demo.core.hub.DeviceReport
import android.content.Context
import android.content.Intent
import android.content.IntentFilter
import android.net.ConnectivityManager
import android.net.NetworkCapabilities
import android.os.BatteryManager

/**
 * What the phone reports to the hub at check-in and what the update's send conditions read
 * ([DeviceReport]): the battery's charge and whether it charges (the sticky
 * `ACTION_BATTERY_CHANGED` broadcast, read without registering a receiver), whether the active
 * network is unmetered (Wi-Fi or another network the user does not pay by the byte for;
 * `NET_CAPABILITY_NOT_METERED`, which needs ACCESS_NETWORK_STATE) and the bytes free in the
 * app's private storage, where versions are installed. A value the platform does not give is
 * left out (null), and the hub and the client treat it as unknown.
 */
class DeviceConditions(private val context: Context) {
    fun report(): DeviceReport {
        val sticky = IntentFilter(Intent.ACTION_BATTERY_CHANGED)
        val battery: Intent? = context.registerReceiver(null, sticky) // the last one sent
        val level = battery?.getIntExtra(BatteryManager.EXTRA_LEVEL, -1) ?: -1
        val scale = battery?.getIntExtra(BatteryManager.EXTRA_SCALE, -1) ?: -1
        val status = battery?.getIntExtra(BatteryManager.EXTRA_STATUS, -1) ?: -1
        val charge = if (level >= 0 && scale > 0) level.toDouble() / scale else null
        val charging = when (status) {
            -1 -> null
            else -> status == BatteryManager.BATTERY_STATUS_CHARGING ||
                status == BatteryManager.BATTERY_STATUS_FULL // plugged in and full
        }
        return DeviceReport(
            freeBytes = context.filesDir.usableSpace,
            battery = charge?.coerceIn(0.0, 1.0),
            charging = charging,
            wifi = unmetered(),
        )
    }

    /** Whether the active network is unmetered; false with no network, null when unknown. */
    private fun unmetered(): Boolean? {
        val manager: ConnectivityManager =
            context.getSystemService(ConnectivityManager::class.java) ?: return null
        val network = manager.activeNetwork ?: return false
        val capabilities: NetworkCapabilities =
            manager.getNetworkCapabilities(network) ?: return false
        return capabilities.hasCapability(NetworkCapabilities.NET_CAPABILITY_NOT_METERED)
    }
}
