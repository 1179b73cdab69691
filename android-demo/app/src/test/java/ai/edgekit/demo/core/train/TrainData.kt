package ai.edgekit.demo.core.train

import ai.edgekit.demo.core.bundle.BundleFolder
import ai.edgekit.demo.core.json.Fields
import ai.edgekit.demo.core.json.Json
import ai.edgekit.demo.core.npy.NdArray
import ai.edgekit.demo.core.testing.Fixtures

/** What the training tests read: the real bundle's arrays and the Python side's fixture files
 * (tests/android/train_fixtures.py). */
object TrainData {
    val bundle: BundleFolder by lazy { BundleFolder.open(Fixtures.bundle) }

    /** Python's fixture [name] (a JSON list) as one [Fields] per item. */
    fun cases(name: String): List<Fields> =
        (Fixtures.json(name) as Json.Arr).items.mapIndexed { i, item ->
            Fields(item as Json.Obj, "$name[$i]")
        }

    fun doc(name: String): Fields = Fields(Fixtures.json(name) as Json.Obj, name)

    /** A JSON list of numbers as float32 (NaN included). */
    fun floats(values: List<Json>): FloatArray =
        FloatArray(values.size) { (values[it] as Json.Num).toDouble().toFloat() }

    fun doubles(values: List<Json>): DoubleArray =
        DoubleArray(values.size) { (values[it] as Json.Num).toDouble() }

    /** `{name: [values]}` as float32 arrays of the bundle's trainable shapes. */
    fun weights(f: Fields): Map<String, NdArray.Float32> =
        bundle.manifest.trainable.associate { spec ->
            spec.name to NdArray.Float32(spec.shape, floats(f.list(spec.name)))
        }

    /** `{name: [values]}` as flat float32 arrays. */
    fun arrays(f: Fields): Map<String, FloatArray> = f.keys.associateWith { floats(f.list(it)) }

    /** The noise word's clips as the program embedded them (imprint.json), `(n, featureSize)`. */
    fun noiseFeatures(): NdArray.Float32 =
        LearnerState.rows(floats(doc("imprint.json").list("features")), bundle.manifest.featureSize)
}
