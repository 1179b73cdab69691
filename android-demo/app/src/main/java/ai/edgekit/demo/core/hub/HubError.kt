package ai.edgekit.demo.core.hub

/**
 * A request to the hub failed (`edgekit.errors.HubError`): [status] is its HTTP status (null
 * when the hub was not reached or the connection was cut), [detail] what the hub or the network
 * said, [retryAfter] the seconds the hub asked the device to wait before it calls again (a 429's
 * or a 503's `Retry-After`). A failed request may be tried again later; a version the device
 * must never take is refused with [ai.edgekit.demo.core.signing.UpdateRefused] instead.
 */
class HubError(
    val what: String,
    val status: Int?,
    val detail: String,
    val retryAfter: Double? = null,
    cause: Throwable? = null,
) : Exception(describe(what, status, detail, retryAfter), cause)

private fun describe(what: String, status: Int?, detail: String, retryAfter: Double?): String {
    val answer = if (status == null) "unreachable" else "HTTP $status"
    val wait = when {
        retryAfter == null -> ""
        retryAfter == Math.rint(retryAfter) && retryAfter < 1e15 ->
            " (retry after ${retryAfter.toLong()} s)"
        else -> " (retry after $retryAfter s)"
    }
    return "$what: $answer: $detail$wait"
}
