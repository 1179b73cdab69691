package ai.edgekit.demo.core.json

/** A JSON document that is not of the shape its reader needs; the message names the field. */
class JsonShapeError(message: String) : Exception(message)

/**
 * Typed reads of the fields of a JSON object named [where] (e.g. `manifest.json`), each failing
 * with a [JsonShapeError] that says which field is missing or of which wrong type. Integers
 * follow Python's rules: `true` is not a number, `3.0` is not an integer.
 */
class Fields(val obj: Json.Obj, val where: String) {
    val keys: Set<String> get() = obj.fields.keys

    operator fun contains(key: String) = key in obj.fields

    fun raw(key: String): Json = obj[key] ?: throw JsonShapeError("$where lacks '$key'")

    fun string(key: String): String = (raw(key) as? Json.Str)?.value ?: wrong(key, "a string")

    fun long(key: String): Long =
        (raw(key) as? Json.Num)?.toLongOrNull() ?: wrong(key, "an integer")

    fun int(key: String): Int {
        val value = long(key)
        return if (value in Int.MIN_VALUE..Int.MAX_VALUE) value.toInt() else wrong(key, "an int")
    }

    /** A finite number, integer or float (Python's `int | float`, not `bool`). */
    fun double(key: String): Double {
        val value = (raw(key) as? Json.Num)?.toDouble()
        return if (value != null && value.isFinite()) value else wrong(key, "a finite number")
    }

    fun bool(key: String): Boolean = (raw(key) as? Json.Bool)?.value ?: wrong(key, "true or false")

    fun isNull(key: String): Boolean = raw(key) is Json.Null

    fun obj(key: String): Fields =
        Fields(raw(key) as? Json.Obj ?: wrong(key, "an object"), "$where.$key")

    fun list(key: String): List<Json> = (raw(key) as? Json.Arr)?.items ?: wrong(key, "a list")

    fun strings(key: String): List<String> =
        list(key).map { (it as? Json.Str)?.value ?: wrong(key, "a list of strings") }

    fun longs(key: String): List<Long> =
        list(key).map { (it as? Json.Num)?.toLongOrNull() ?: wrong(key, "a list of integers") }

    /** Each item of the list [key] as an object. */
    fun objects(key: String): List<Fields> = list(key).mapIndexed { i, item ->
        Fields(item as? Json.Obj ?: wrong(key, "a list of objects"), "$where.$key[$i]")
    }

    private fun wrong(key: String, expected: String): Nothing =
        throw JsonShapeError("$where: '$key' must be $expected, got ${brief(obj[key])}")

    private fun brief(value: Json?): String {
        val text = value?.write() ?: "nothing"
        return if (text.length <= 60) text else text.take(57) + "..."
    }

    companion object {
        /** The fields of [text], which must be a JSON object. */
        fun parse(text: String, where: String): Fields {
            val value = try {
                Json.parse(text)
            } catch (e: JsonError) {
                throw JsonShapeError("$where is not JSON (${e.message})")
            }
            val obj = value as? Json.Obj ?: throw JsonShapeError("$where is not a JSON object")
            return Fields(obj, where)
        }
    }
}
