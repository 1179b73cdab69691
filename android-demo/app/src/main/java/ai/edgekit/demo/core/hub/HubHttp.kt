package ai.edgekit.demo.core.hub

import ai.edgekit.demo.core.json.Json
import ai.edgekit.demo.core.json.JsonError
import java.io.ByteArrayOutputStream
import java.io.Closeable
import java.io.IOException
import java.io.InputStream
import java.net.HttpRetryException
import java.net.HttpURLConnection
import java.net.URI
import java.net.URISyntaxException
import java.time.Duration
import java.time.ZonedDateTime
import java.time.format.DateTimeFormatter
import java.time.format.DateTimeParseException

/**
 * Bytes a client moved: request bodies [up], response bodies [down], the bytes of files copied
 * from a version the device keeps instead of downloaded ([reused]), and the bytes of `.part`
 * files a download continued from instead of fetching them again ([resumed]).
 */
class Traffic {
    var down: Long = 0
    var up: Long = 0
    var reused: Long = 0
    var resumed: Long = 0

    override fun toString() = "Traffic(down=$down, up=$up, reused=$reused, resumed=$resumed)"
}

/**
 * The requests of a device's hub client (`edgekit/device/hub_http.py`) on the platform's
 * [HttpURLConnection]: bounded reads of JSON replies, the hub's errors as [HubError] (with a
 * 429's `Retry-After`), bytes counted each way in [traffic], and the device's [token] sent to
 * the hub's own scheme, host and port only: no redirect is followed (one would carry the token
 * to wherever it points) and a URL elsewhere is refused before a connection is opened.
 */
class HubHttp(url: String, private val timeoutMillis: Int = 60_000) {
    /** The hub's URL, ending in `/`: paths such as `v1/devices` resolve under it. */
    val url: String = url.trimEnd('/') + "/"
    private val base: URI = try {
        URI(this.url)
    } catch (e: URISyntaxException) {
        throw IllegalArgumentException("the hub URL must be http(s)://host[:port], got '$url'")
    }
    var token: String? = null
    val traffic = Traffic()

    init {
        require(base.scheme in setOf("http", "https") && !base.host.isNullOrEmpty()) {
            "the hub URL must be http(s)://host[:port], got '$url'"
        }
    }

    /** A successful (2xx) reply whose body the caller reads, then closes. */
    class Reply internal constructor(
        val status: Int,
        private val connection: HttpURLConnection,
    ) : Closeable {
        val body: InputStream by lazy { connection.inputStream }

        fun header(name: String): String? = connection.getHeaderField(name)

        override fun close() {
            try {
                body.close() // a body read to its end leaves the connection for the next request
            } catch (e: IOException) {
                connection.disconnect()
            }
        }
    }

    /**
     * The hub's reply to [method] [target] (a path, relative to [url] or absolute) if it is a
     * success (2xx); otherwise [HubError]. [auth] sends the device's token, which it must have.
     */
    fun open(
        method: String,
        target: String,
        body: ByteArray? = null,
        headers: Map<String, String> = emptyMap(),
        auth: Boolean = true,
        contentType: String = OCTET_STREAM,
    ): Reply {
        val what = "$method $target"
        val uri = try {
            base.resolve(target)
        } catch (e: IllegalArgumentException) {
            throw HubError(what, null, "not a URL: refused")
        }
        if (!sameOrigin(uri)) throw HubError("$method $uri", null, "not on the hub $url: refused")
        val bearer = if (!auth) {
            null
        } else {
            checkNotNull(token) { "this device is not registered with $url: register()" }
        }
        val connection = try {
            uri.toURL().openConnection() as HttpURLConnection
        } catch (e: IOException) {
            throw HubError(what, null, e.message ?: e.toString(), cause = e)
        }
        connection.instanceFollowRedirects = false
        connection.useCaches = false
        connection.connectTimeout = timeoutMillis
        connection.readTimeout = timeoutMillis
        connection.requestMethod = method
        // byte ranges count the file's own bytes: Android's client would otherwise ask for gzip
        connection.setRequestProperty("Accept-Encoding", "identity")
        for ((name, value) in headers) connection.setRequestProperty(name, value)
        if (bearer != null) connection.setRequestProperty("Authorization", "Bearer $bearer")
        try {
            if (body != null) {
                connection.doOutput = true
                connection.setRequestProperty("Content-Type", contentType)
                connection.setFixedLengthStreamingMode(body.size) // streamed: never re-sent
                connection.outputStream.use { it.write(body) }
                traffic.up += body.size
            }
            val status = connection.responseCode
            if (status in 200..299) return Reply(status, connection)
            val error = failure(what, connection, status)
            connection.disconnect()
            throw error
        } catch (e: HttpRetryException) { // the hub asked for credentials again, or moved
            connection.disconnect()
            throw HubError(what, e.responseCode(), e.reason ?: e.toString(), cause = e)
        } catch (e: IOException) { // refused, reset, timed out
            connection.disconnect()
            throw HubError(what, null, e.message ?: e.toString(), cause = e)
        }
    }

    /** The whole body of [reply] (at most [MAX_REPLY] bytes, else [HubError]), closing it. */
    fun read(reply: Reply, what: String): ByteArray = reply.use {
        val data = try {
            readAtMost(it.body, MAX_REPLY + 1)
        } catch (e: IOException) {
            throw HubError(what, it.status, "cut: ${e.message ?: e}", cause = e)
        }
        traffic.down += data.size
        if (data.size > MAX_REPLY) throw HubError(what, it.status, "over $MAX_REPLY bytes")
        data
    }

    /** A JSON object from the hub: [body] sent as JSON, or [raw] as bytes, or nothing. */
    fun json(
        method: String,
        path: String,
        body: Json? = null,
        raw: ByteArray? = null,
        auth: Boolean = true,
    ): Json.Obj {
        val data = body?.write()?.toByteArray(Charsets.UTF_8) ?: raw
        val kind = if (body != null) "application/json" else OCTET_STREAM
        val reply = open(method, path, data, auth = auth, contentType = kind)
        val text = read(reply, "$method $path").toString(Charsets.UTF_8)
        return try {
            Json.parse(text) as? Json.Obj
        } catch (e: JsonError) {
            null
        } ?: throw HubError("$method $path", reply.status, "the reply is not a JSON object")
    }

    private fun sameOrigin(uri: URI): Boolean =
        uri.scheme.equals(base.scheme, ignoreCase = true) &&
            uri.rawUserInfo == base.rawUserInfo &&
            uri.host.equals(base.host, ignoreCase = true) &&
            port(uri) == port(base)

    private fun port(uri: URI): Int =
        if (uri.port != -1) uri.port else if (uri.scheme.equals("https", true)) 443 else 80

    /** The error a non-2xx reply stands for: the hub's `detail` and its `Retry-After`. */
    private fun failure(what: String, connection: HttpURLConnection, status: Int): HubError {
        val raw = try {
            (connection.errorStream ?: connection.inputStream)?.use { readAtMost(it, MAX_REPLY) }
        } catch (e: IOException) {
            null
        } ?: ByteArray(0)
        traffic.down += raw.size
        val retry = retryAfterSeconds(connection.getHeaderField("Retry-After"))
        return HubError(what, status, detail(raw), retry)
    }

    companion object {
        /** Bytes read at most of a JSON reply, an error or signed metadata. */
        const val MAX_REPLY = 1 shl 20
        private const val OCTET_STREAM = "application/octet-stream"

        /** The hub's `{"detail": ...}`, or the start of whatever it sent. */
        internal fun detail(raw: ByteArray): String {
            val text = raw.toString(Charsets.UTF_8)
            val found = try {
                ((Json.parse(text) as? Json.Obj)?.get("detail"))?.let {
                    (it as? Json.Str)?.value ?: it.write()
                }
            } catch (e: JsonError) {
                null
            }
            return found ?: text.take(300).ifEmpty { "(no detail)" }
        }

        /** A `Retry-After` header (seconds, or an HTTP date) in seconds from now; null if none. */
        fun retryAfterSeconds(value: String?, now: ZonedDateTime = ZonedDateTime.now()): Double? {
            if (value.isNullOrBlank()) return null
            value.trim().toDoubleOrNull()?.let { if (it.isFinite()) return maxOf(0.0, it) }
            return try {
                val at = ZonedDateTime.parse(value.trim(), DateTimeFormatter.RFC_1123_DATE_TIME)
                maxOf(0.0, Duration.between(now, at).toMillis() / 1000.0)
            } catch (e: DateTimeParseException) {
                null
            }
        }

        /** Up to [limit] bytes of [input]: a reply longer than that is cut there. */
        internal fun readAtMost(input: InputStream, limit: Int): ByteArray {
            val out = ByteArrayOutputStream()
            val block = ByteArray(1 shl 16)
            while (out.size() < limit) {
                val n = input.read(block, 0, minOf(block.size, limit - out.size()))
                if (n < 0) break
                out.write(block, 0, n)
            }
            return out.toByteArray()
        }
    }
}
