package ai.edgekit.demo.core.update

import ai.edgekit.demo.core.bundle.BundleFolder
import ai.edgekit.demo.core.bundle.Manifest
import ai.edgekit.demo.core.json.Fields
import ai.edgekit.demo.core.json.Json
import ai.edgekit.demo.core.npy.NdArray
import ai.edgekit.demo.core.npy.Npz
import ai.edgekit.demo.core.program.KwsProgram
import ai.edgekit.demo.core.testing.Fixtures
import ai.edgekit.demo.core.train.LearnerState
import java.io.File
import kotlin.test.assertEquals
import kotlin.test.fail

/**
 * What tests/android/update_fixtures.py wrote: per case, a learner state on the real bundle
 * (its labels, live labels and nudged weights), the update body Python's `update_body` made of
 * it, Python's probabilities of more rows than one `classify` call takes, and every `classify`
 * call the Python program ran for both (features, mask, weights in; logits out).
 */
object UpdateData {
    val bundle: BundleFolder by lazy { BundleFolder.open(Fixtures.bundle) }
    val manifest: Manifest get() = bundle.manifest

    class Case(f: Fields) {
        val name = f.string("name")
        val labels = f.strings("labels")
        val live = f.strings("live")
        val arrays: Map<String, NdArray> = Npz.read(File(Fixtures.python, "update_$name.npz"))
        val mask = (arrays.getValue("mask") as NdArray.Float32).data
        val weights = manifest.trainable.associate {
            it.name to arrays.getValue("w.${it.name}") as NdArray.Float32
        }

        /** Python's update body for this state. */
        val python: ByteArray get() = File(Fixtures.python, "update_${name}_python.npz").readBytes()

        /** The state Python built the update from (no clip cached: the update does not read
         * the cache). */
        val state: LearnerState
            get() = LearnerState.initial(manifest, weights).copy(labels = labels, live = live)

        /** The rows Python gave `classify` for [key] ("d0" or "wide"), concatenated. */
        fun features(key: String): NdArray.Float32 {
            val chunks = calls(key).map { it.first }
            val data = chunks.fold(FloatArray(0)) { all, c -> all + c.data }
            return LearnerState.rows(data, manifest.featureSize)
        }

        /** `(features, logits)` of each `classify` call Python ran for [key], in order. */
        fun calls(key: String): List<Pair<NdArray.Float32, NdArray.Float32>> =
            generateSequence(0) { it + 1 }
                .takeWhile { "$key.features.$it" in arrays }
                .map {
                    val x = arrays.getValue("$key.features.$it") as NdArray.Float32
                    x to arrays.getValue("$key.logits.$it") as NdArray.Float32
                }
                .toList()
    }

    val cases: List<Case> by lazy {
        (Fixtures.json("update_cases.json") as Json.Arr).items.mapIndexed { i, item ->
            Case(Fields(item as Json.Obj, "update_cases.json[$i]"))
        }
    }

    fun case(name: String): Case = cases.single { it.name == name }
}

/**
 * The bundle's program as the Python runtime ran `classify` for [case] (ExecuTorch has no
 * runtime on this JVM): a call with features, mask and weights that Python gave it, bit for
 * bit, gets the logits Python's runtime returned; any other call fails the test. [calls]
 * counts the rows of each call, in order.
 */
class RecordedClassify(private val case: UpdateData.Case) : KwsProgram {
    override val manifest: Manifest = UpdateData.manifest
    val calls = ArrayList<Int>()
    private val recorded = listOf("d0", "wide").flatMap { case.calls(it) }

    override fun embed(pcm: FloatArray, n: Int): FloatArray = fail("no embed was recorded")

    override fun classify(
        features: FloatArray,
        n: Int,
        mask: FloatArray,
        weights: List<NdArray.Float32>,
    ): FloatArray {
        calls += n
        if (!mask.contentEquals(case.mask)) fail("the mask of case ${case.name} is ${case.mask}")
        assertEquals(manifest.trainable.size, weights.size)
        for ((spec, w) in manifest.trainable.zip(weights)) {
            if (!w.data.contentEquals(case.weights.getValue(spec.name).data)) {
                fail("${spec.name} is not the weights of case ${case.name}")
            }
        }
        val (_, logits) = recorded.firstOrNull { (x, _) -> x.data.contentEquals(features) }
            ?: fail("classify of $n rows that Python did not run (case ${case.name})")
        return logits.data
    }

    override fun close() = Unit
}
