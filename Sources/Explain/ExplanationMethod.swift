/// The explanation methods, by the names the CLI and the control protocol use.
public enum ExplanationMethod: String, Sendable, CaseIterable, Codable {
    /// One channel (or the channel mean) of any activation tensor.
    case activation
    /// CAM (Zhou et al. 2016): `sum_k w[k, c] A_k`; only for global-average-pooling → FC heads.
    case cam
    /// Grad-CAM: `relu(sum_k alpha_k A_k)` with `alpha_k = mean_ij dScore/dA_ijk`.
    case gradcam
    /// Grad-CAM++ as xplique computes it: `alpha = g² / (2g² + g³ mean_ij(A_k))`, `w_k = mean_ij(alpha relu(g))`,
    /// map `relu(sum_k w_k A_k)`.
    case gradcamPlusPlus = "gradcam++"
    /// The projection of the activations on their first principal component (gradient-free).
    case eigencam
    /// Guided backprop to the input: negative gradients zeroed at every ReLU; map = max over channels of |gradient|.
    case guidedBackprop = "guided-backprop"
    /// Guided backprop times the upsampled Grad-CAM.
    case guidedGradcam = "guided-gradcam"
    /// Drop of the target score when a patch of the input is covered, summed (or averaged, see
    /// ``OcclusionOptions/aggregation``) over the patches covering each pixel.
    case occlusion

    /// Whether the map lives at the input resolution (otherwise at the layer's).
    public var isInputResolution: Bool {
        switch self {
        case .guidedBackprop, .guidedGradcam, .occlusion: return true
        default: return false
        }
    }
}

/// Which class an explanation is about.
public enum ExplanationTarget: Sendable, Equatable {
    /// The class with the highest score on this input.
    case top1
    /// A fixed class index (for one input; pass one per input for a batch).
    case classIndex(Int)
}

/// Which tensor a layer-based method (activation, CAM, Grad-CAM(++), EigenCAM) looks at.
public enum LayerSelection: Sendable, Equatable {
    /// `Model.classActivationLayers.first`: the last layer with spatial extent before global pooling.
    case automatic
    /// A tensor by index.
    case tensor(Int)
    /// A tensor by exact name, or an index written as a decimal number.
    case named(String)
}

/// Options of the occlusion method.
///
/// Defaults (`nil` fields): patch side = `round(min(H, W) / 6)` of the model input (16 px on a
/// 96 px input, 37 px on 224), stride = half the patch, fill = int8 0, which is mid-grey for the
/// usual `q = pixel - 128` input encoding (the reference maps use the same: patch 16, stride 8,
/// fill 128/255). Patches are laid on a grid from the top-left corner while they fit, plus a last
/// row/column flush with the bottom/right edge when the grid would leave pixels uncovered.
public struct OcclusionOptions: Sendable, Equatable {
    public var patch: Int?
    public var stride: Int?
    /// The quantized value written into every channel of an occluded pixel.
    public var fill: Int8
    /// How the score drops of the patches covering a pixel are combined. Default `.sum`, as the
    /// reference toolkit (xplique's occlusion sensitivity): in the interior every pixel is covered
    /// by the same number of patches, so sum and mean differ only near the borders, where `.mean`
    /// inflates the few patches that cover a border pixel; on the shapes dev set that moves the
    /// peak off the object (pointing game 0.84 with `.mean` vs 0.96 with `.sum` on every 8th image).
    public var aggregation: Aggregation
    /// Recompute only what each patch can reach (true) or rerun the whole model per patch (false).
    /// Both give the identical map; false exists to check that and to measure the gain.
    public var incremental: Bool

    public enum Aggregation: String, Sendable, Equatable {
        /// Mean over the covering patches (pixels no patch covers get 0).
        case mean
        /// Sum over the covering patches (xplique's occlusion sensitivity).
        case sum
    }

    public init(patch: Int? = nil, stride: Int? = nil, fill: Int8 = 0, aggregation: Aggregation = .sum,
                incremental: Bool = true) {
        self.patch = patch
        self.stride = stride
        self.fill = fill
        self.aggregation = aggregation
        self.incremental = incremental
    }
}
