package ai.edgekit.demo.core.hub

import ai.edgekit.demo.core.io.AtomicFiles
import ai.edgekit.demo.core.signing.FileEntry
import ai.edgekit.demo.core.signing.UpdateRefused
import ai.edgekit.demo.core.signing.sha256Hex
import java.io.File
import java.io.FileOutputStream
import java.io.IOException

/**
 * Downloads one file of a version to the size and sha256 its *signed* metadata gives, resumably:
 * bytes arrive in `<file>.part`, flushed to the disk as they come; a `.part` left by a cut is
 * continued with `Range` + `If-Range` (the hub's ETag is the file's sha256, so it sends the rest
 * only of those exact bytes, and the whole file otherwise); a 416 (the hub has fewer bytes than
 * the `.part`) starts again; a resumed file that does not hash right is fetched whole once more;
 * a file larger than signed is stopped at the first byte too many.
 */
internal class FileFetcher(private val http: HubHttp) {
    /** [target], fetched from [url], as the entry [name] of [version] says; else a refusal. */
    fun fetch(url: String, target: File, name: String, entry: FileEntry, version: Long) {
        val part = File(target.parentFile, target.name + ".part")
        repeat(2) {
            var have = if (part.isFile) part.length() else 0L
            if (have > entry.size) {
                part.delete()
                have = 0
            }
            if (have < entry.size) stream(url, part, have, entry)
            if (sha256Hex(part) == entry.sha256) {
                AtomicFiles.move(part, target)
                return
            }
            part.delete()
            if (have == 0L) {
                // a whole download that does not match: the hub's bytes are not the signed ones
                throw UpdateRefused("files", "$name does not match version $version's sha256")
            }
        }
        throw UpdateRefused("files", "$name does not match version $version's sha256")
    }

    private fun stream(url: String, part: File, have: Long, entry: FileEntry) {
        val headers = if (have > 0) {
            mapOf("Range" to "bytes=$have-", "If-Range" to "\"${entry.sha256}\"")
        } else {
            emptyMap()
        }
        val reply = try {
            http.open("GET", url, headers = headers)
        } catch (e: HubError) {
            if (e.status != 416 || have == 0L) throw e
            part.delete() // the hub has fewer bytes than the .part: start again
            return stream(url, part, 0, entry)
        }
        var written: Long
        reply.use {
            val resumed = reply.status == 206
            if (resumed && reply.header("Content-Range")?.startsWith("bytes $have-") != true) {
                throw HubError("GET $url", 206, "the hub sent another range than asked")
            }
            written = if (resumed) have else 0L
            FileOutputStream(part, resumed).use { out ->
                val block = ByteArray(1 shl 16)
                try {
                    while (true) {
                        val n = reply.body.read(block)
                        if (n < 0) break
                        http.traffic.down += n
                        written += n
                        if (written > entry.size) {
                            out.close()
                            part.delete()
                            throw UpdateRefused("files", "$url sends more than ${entry.size} bytes")
                        }
                        out.write(block, 0, n)
                    }
                    out.flush()
                    out.fd.sync()
                } catch (e: IOException) { // a cut: what arrived stays in the .part
                    val why = "cut after $written bytes: ${e.message}"
                    throw HubError("GET $url", null, why, cause = e)
                }
            }
            if (resumed) http.traffic.resumed += have
        }
        if (written < entry.size) {
            throw HubError("GET $url", reply.status, "cut after $written of ${entry.size} bytes")
        }
    }
}
