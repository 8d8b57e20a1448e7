"""GAN losses as pure functions of discriminator logits.

Every function takes logits (the discriminator's pre-sigmoid output, any float dtype) and returns
the **per-example** loss, shape `[batch]`, in float32. The paper's expectation `E[...]` is the mean
of that vector; `tfgan_orig.GAN` reduces it as `sum / global_batch` so that the gradient all-reduce
of `tf.distribute` gives exactly the single-device gradient.

Notation: `r` = D's logit on a real example, `f` = D's logit on a generated one, `D(.) = sigmoid(.)`.
For the Wasserstein, least-squares, hinge, EBGAN and RpGAN families D's output is not a logit of
P(real) but a raw score (or an energy); `r` and `f` then denote that raw output.
Stable forms use `log sigmoid(x) = -softplus(-x)` and `log(1 - sigmoid(x)) = -softplus(x)`.

`Objective` binds one family's D and G losses with their options (margin, smoothed target) and says
how D's output is logged and whether G's loss needs D's outputs on real rows (RpGAN's pairing);
`objective(name, ...)` builds it. The model calls only the objective.

Scale. The cross-entropy D loss keeps the 1/2 of the tutorial's (Goodfellow 2016)
`J(D) = -1/2 E log D(x) - 1/2 E log(1 - D(G(z)))`, as the authors' code does (goodfeli/adversarial,
`AdversaryCost2`: `d_obj = 0.5 * (CE(1, D(x)) + CE(0, D(G(z))))`): it is D's mean cross-entropy over
the 2m examples it classifies, `-V(D, G) / 2`. The generator costs carry no 1/2 (the authors'
`g_obj = CE(1, D(G(z)))`). With these scales the paper's learning rate 0.1 for both networks gives
the authors' steps exactly (with SGD a factor on a loss is a factor on every step of that network,
the learning-rate floor included; Adam is insensitive to it). The other families keep their papers'
scales (LSGAN's 1/2 per term, the hinge and Wasserstein sums); a penalty's weight (`gradient_penalty_weight`,
`r1_gamma`, `aux_classifier_weight`) is relative to the D loss it is added to.
"""

import tensorflow as tf

__all__ = [
    "LOSSES",
    "modified_discriminator_loss",
    "minimax_discriminator_loss",
    "minimax_generator_loss",
    "non_saturating_generator_loss",
    "maximum_likelihood_generator_loss",
    "wasserstein_discriminator_loss",
    "wasserstein_generator_loss",
    "gradient_penalty",
    "least_squares_discriminator_loss",
    "least_squares_generator_loss",
    "hinge_discriminator_loss",
    "hinge_generator_loss",
    "ebgan_discriminator_loss",
    "ebgan_generator_loss",
    "rpgan_discriminator_loss",
    "rpgan_generator_loss",
    "auxiliary_classifier_loss",
    "CROSS_ENTROPY_LOSSES",
    "PAIRED_LOSSES",
    "SMOOTHABLE_LOSSES",
    "OUTPUT_KINDS",
    "Objective",
    "score_realism",
    "get",
    "objective",
]


def _flat(logits):
    """Logits of shape [batch] or [batch, 1] -> float32 [batch]."""
    logits = tf.cast(logits, tf.float32)
    return tf.reshape(logits, [tf.shape(logits)[0]])


# ---------------------------------------------------------------------------------------------------
# The original GAN (Goodfellow et al. 2014), Algorithm 1 and section 3.
# ---------------------------------------------------------------------------------------------------


def minimax_discriminator_loss(real_logits, fake_logits, real_target=1.0):
    """Cross-entropy of D, the tutorial's `J(D)`: half the negative value function V(D, G) per pair.

    `L_D = 1/2 (-log D(x) - log(1 - D(G(z)))) = 1/2 (softplus(-r) + softplus(f))`, D's mean
    cross-entropy over one real and one generated example (log 2 at D = 1/2). The 1/2 is the
    authors' (`d_obj = 0.5 * (CE(1, D(x)) + CE(0, D(G(z))))` in goodfeli/adversarial): with it, the
    paper's learning rate 0.1 takes the authors' D step (see the module docstring).

    With one-sided label smoothing (Salimans et al. 2016), the real target `t < 1` gives
    `L_D = 1/2 (t softplus(-r) + (1 - t) softplus(r) + softplus(f))`; the fake target stays exactly 0.

    Args:
      real_logits: D's logits on real data, shape [batch] or [batch, 1].
      fake_logits: D's logits on generated data, same batch size.
      real_target: target probability for real examples (1.0 = no smoothing).

    Returns:
      float32 [batch] per-example loss.
    """
    r, f = _flat(real_logits), _flat(fake_logits)
    real_term = real_target * tf.nn.softplus(-r)
    if not (isinstance(real_target, float) and real_target == 1.0):
        real_term += (1.0 - real_target) * tf.nn.softplus(r)
    return 0.5 * (real_term + tf.nn.softplus(f))


# All three generator costs of the paper share this discriminator loss.
modified_discriminator_loss = minimax_discriminator_loss


def minimax_generator_loss(fake_logits):
    """The zero-sum generator cost: G descends `log(1 - D(G(z)))`.

    `L_G = log(1 - D(G(z))) = -softplus(f)`.

    Its gradient `dL/df = -sigmoid(f)` vanishes as `D(G(z)) -> 0`, i.e. exactly when G is poor
    early in training -- the saturation the paper warns about.
    """
    return -tf.nn.softplus(_flat(fake_logits))


def non_saturating_generator_loss(fake_logits):
    """The heuristic cost the paper uses in practice: G ascends `log D(G(z))`.

    `L_G = -log D(G(z)) = softplus(-f)`.

    Gradient `dL/df = -sigmoid(-f) -> -1` as `D(G(z)) -> 0`: strong early in training.
    """
    return tf.nn.softplus(-_flat(fake_logits))


def maximum_likelihood_generator_loss(fake_logits, max_logit=30.0):
    """Goodfellow (2014b, tutorial eq. 9): minimizing it minimizes KL(p_data || p_g) when D = D*.

    `L_G = -exp(sigma^-1(D(G(z)))) = -exp(f)` (the tutorial's factor 1/2 dropped).

    `f` is clipped to `max_logit` before the exp so that a confident D cannot overflow float32
    (exp(30) ~ 1e13; the gradient there is already useless).
    """
    return -tf.exp(tf.minimum(_flat(fake_logits), max_logit))


# ---------------------------------------------------------------------------------------------------
# Wasserstein GAN (Arjovsky et al. 2017) and WGAN-GP (Gulrajani et al. 2017).
# D is a critic: its output is a real-valued score, not a logit; higher = "more real".
# ---------------------------------------------------------------------------------------------------


def wasserstein_discriminator_loss(real_logits, fake_logits):
    """The critic descends `L_D = D(G(z)) - D(x) = f - r` (i.e. ascends `E D(x) - E D(G(z))`).

    Minimising its mean over a 1-Lipschitz critic (weight clipping: `GAN.compile(clip_value=c)`;
    or the gradient penalty: `GAN.compile(gradient_penalty_weight=lambda)`) estimates the negative
    Wasserstein-1 distance between the data and the generator.
    """
    return _flat(fake_logits) - _flat(real_logits)


def wasserstein_generator_loss(fake_logits):
    """The generator descends `L_G = -D(G(z)) = -f`."""
    return -_flat(fake_logits)


def gradient_penalty(gradients, epsilon=1e-10):
    """WGAN-GP's per-example penalty without its weight: `(sqrt(||g||^2 + epsilon) - 1)^2`.

    `g` is the gradient of the critic's output with respect to its input at
    `x_hat = alpha x + (1 - alpha) G(z)`, `alpha ~ U(0, 1)` per example (`GAN` draws alpha and
    computes g). The `epsilon` inside the square root keeps the penalty's own gradient finite where
    `g = 0` (the bare `sqrt` of the keras-io example gives NaN there).

    Args:
      gradients: `[batch, ...]`, one input gradient per example.
      epsilon: added to the squared norm.

    Returns:
      float32 [batch].
    """
    g = tf.cast(gradients, tf.float32)
    sq = tf.reduce_sum(tf.reshape(tf.square(g), [tf.shape(g)[0], -1]), axis=1)
    return tf.square(tf.sqrt(sq + epsilon) - 1.0)


# ---------------------------------------------------------------------------------------------------
# Least squares GAN (Mao et al. 2017), the a = 0, b = 1, c = 1 coding, on D's raw output.
# ---------------------------------------------------------------------------------------------------


def least_squares_discriminator_loss(real_logits, fake_logits, real_target=1.0):
    """`L_D = 1/2 (D(x) - b)^2 + 1/2 D(G(z))^2`, b = `real_target` (1; 0.9 = one-sided smoothing).

    D's output is used raw (no sigmoid); the fake target is a = 0.
    """
    r, f = _flat(real_logits), _flat(fake_logits)
    return 0.5 * tf.square(r - real_target) + 0.5 * tf.square(f)


def least_squares_generator_loss(fake_logits):
    """`L_G = 1/2 (D(G(z)) - 1)^2` (c = 1)."""
    return 0.5 * tf.square(_flat(fake_logits) - 1.0)


# ---------------------------------------------------------------------------------------------------
# Hinge loss (Lim & Ye 2017; Miyato et al. 2018, with spectral normalization).
# ---------------------------------------------------------------------------------------------------


def hinge_discriminator_loss(real_logits, fake_logits):
    """`L_D = max(0, 1 - r) + max(0, 1 + f)`: D pushes real scores above +1, fakes below -1."""
    r, f = _flat(real_logits), _flat(fake_logits)
    return tf.nn.relu(1.0 - r) + tf.nn.relu(1.0 + f)


def hinge_generator_loss(fake_logits):
    """`L_G = -f` (G raises D's score on its samples)."""
    return -_flat(fake_logits)


# ---------------------------------------------------------------------------------------------------
# Energy-based GAN (Zhao et al. 2016; tutorial section 5). D's output is an energy (e.g. the
# reconstruction error of `networks.ebgan_discriminator`), low for real data.
# ---------------------------------------------------------------------------------------------------


def ebgan_discriminator_loss(real_energy, fake_energy, margin=1.0):
    """`J(D) = D(x) + max(m - D(G(z)), 0)`, m = `margin` > 0.

    D lowers the energy of real data and raises that of samples, but only up to the margin:
    a sample whose energy is already >= m contributes no gradient.
    """
    r, f = _flat(real_energy), _flat(fake_energy)
    return r + tf.nn.relu(margin - f)


def ebgan_generator_loss(fake_energy):
    """`J(G) = D(G(z))`: G lowers the energy of its samples."""
    return _flat(fake_energy)


# ---------------------------------------------------------------------------------------------------
# Relativistic pairing GAN, RpGAN (Jolicoeur-Martineau 2019; with R1 + R2 the objective of R3GAN,
# Huang et al. 2024). D's output is a logit-like score; each real row is paired one-to-one with the
# generated row at the same position of the minibatch, and D judges which of the two is real.
# ---------------------------------------------------------------------------------------------------


def rpgan_discriminator_loss(real_logits, fake_logits):
    """`L_D = f(D(x_f) - D(x_r)) = softplus(f - r)`, `f(t) = softplus(t) = -log sigmoid(-t)`.

    D raises the real row's score above its paired fake's: `-log sigmoid(r - f)`.
    """
    r, f = _flat(real_logits), _flat(fake_logits)
    return tf.nn.softplus(f - r)


def rpgan_generator_loss(fake_logits, real_logits):
    """`L_G = f(D(x_r) - D(x_f)) = softplus(r - f)`: G raises its sample's score above the paired
    real row's. Needs D's outputs on the real rows in G's update (`Objective.g_needs_real`)."""
    r, f = _flat(real_logits), _flat(fake_logits)
    return tf.nn.softplus(r - f)


# ---------------------------------------------------------------------------------------------------
# Auxiliary classifier (AC-GAN, Odena et al. 2017): class log-likelihood term added to D and G.
# ---------------------------------------------------------------------------------------------------


def auxiliary_classifier_loss(labels, class_logits):
    """`L_C = -log softmax(c)[y]`, the cross-entropy of the class head `c` for labels `y`.

    AC-GAN adds it (on real and generated examples) to D's loss and (on generated examples) to
    G's loss.

    Args:
      labels: int `[batch]`.
      class_logits: `[batch, num_classes]`.

    Returns:
      float32 [batch].
    """
    return tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=tf.cast(tf.reshape(labels, [-1]), tf.int32),
        logits=tf.cast(class_logits, tf.float32),
    )


# name -> (discriminator loss, generator loss). `GAN.compile(loss=name)` looks names up here.
LOSSES = {
    "minimax": (minimax_discriminator_loss, minimax_generator_loss),
    "non_saturating": (minimax_discriminator_loss, non_saturating_generator_loss),
    "maximum_likelihood": (minimax_discriminator_loss, maximum_likelihood_generator_loss),
    "wasserstein": (wasserstein_discriminator_loss, wasserstein_generator_loss),
    "least_squares": (least_squares_discriminator_loss, least_squares_generator_loss),
    "hinge": (hinge_discriminator_loss, hinge_generator_loss),
    "ebgan": (ebgan_discriminator_loss, ebgan_generator_loss),
    "rpgan": (rpgan_discriminator_loss, rpgan_generator_loss),
}

# Losses whose generator loss is `g(fake_logits, real_logits)`: G's update also needs D's outputs on
# a real minibatch, paired row by row with the generated one.
PAIRED_LOSSES = ("rpgan",)

# Losses whose D output is a logit of P(real): their d_real / d_fake metrics are sigmoid means.
# For the others the metrics are the mean raw output (critic score, LS output, energy).
CROSS_ENTROPY_LOSSES = ("minimax", "non_saturating", "maximum_likelihood")

# Losses that take a `real_target` (one-sided label smoothing).
SMOOTHABLE_LOSSES = CROSS_ENTROPY_LOSSES + ("least_squares",)


# What D's output means, per loss name: "logit" (of P(real); d_real / d_fake log mean sigmoid),
# "score" (a critic or least-squares output; logged raw) or "energy" (low = real; logged raw).
OUTPUT_KINDS = ("logit", "score", "energy")
_OUTPUT_KIND = {
    "minimax": "logit",
    "non_saturating": "logit",
    "maximum_likelihood": "logit",
    "wasserstein": "score",
    "least_squares": "score",
    "hinge": "score",
    "ebgan": "energy",
    "rpgan": "score",
}


def get(name):
    """Returns `(discriminator_loss_fn, generator_loss_fn)` for a loss name.

    Raises:
      ValueError: naming the bad value and the valid choices.
    """
    if name not in LOSSES:
        raise ValueError(f"Unknown loss {name!r}. Valid choices: {sorted(LOSSES)}.")
    return LOSSES[name]


def score_realism(out):
    """D's output as "how real" for logits and scores (higher = more real): the output, `[rows]`
    float32. `Objective.realism` also handles energies."""
    return _flat(out)


class Objective:
    """The adversarial game of one loss: D's and G's per-example losses with their options bound.

    `GAN.compile(loss=...)` builds one (`objective(name, ...)`), and the model only ever calls
    `discriminator_loss`, `generator_loss` and `d_metric`: what a loss needs (a margin, a smoothed
    target, how its D output is logged) is decided here, not in the model.

    Args:
      d_loss: `fn(real_out, fake_out, **d_options) -> [rows]` per-example D loss.
      g_loss: `fn(fake_out) -> [rows]` per-example G loss.
      output: what D's output is: "logit" (the logs `d_real` / `d_fake` are mean sigmoid(D), the
        probability of "real"), "score" or "energy" (logged raw).
      d_options: keyword arguments bound into every `d_loss` call (e.g. `margin`, `real_target`).
      name: the loss name (`"custom"` for a user pair).
      g_needs_real: G's loss is `g_loss(fake_out, real_out)`, with D's outputs on a real
        minibatch paired row by row with the generated one (RpGAN); the model then feeds D the
        last real minibatch in G's update too.
    """

    def __init__(
        self, d_loss, g_loss, output="score", d_options=None, name="custom", g_needs_real=False
    ):
        if output not in OUTPUT_KINDS:
            raise ValueError(f"Unknown output kind {output!r}. Valid choices: {list(OUTPUT_KINDS)}.")
        self.d_loss = d_loss
        self.g_loss = g_loss
        self.output = output
        self.d_options = dict(d_options or {})
        self.name = name
        self.g_needs_real = bool(g_needs_real)

    def discriminator_loss(self, real_out, fake_out):
        """D's per-example loss `[rows]` on D's outputs for paired real and fake rows."""
        return self.d_loss(real_out, fake_out, **self.d_options)

    def generator_loss(self, fake_out, real_out=None):
        """G's per-example loss `[rows]` on D's outputs for generated rows (and the paired real
        rows when `g_needs_real`)."""
        if self.g_needs_real:
            return self.g_loss(fake_out, real_out)
        return self.g_loss(fake_out)

    def realism(self, out):
        """D's output as "how real" `[rows]` float32, higher = more real: the logit or score
        itself, minus the energy (EBGAN). Used to rank generated rows (top-k training)."""
        return -_flat(out) if self.output == "energy" else score_realism(out)

    def d_metric(self, out):
        """The logged view of D's output: sigmoid for logits, the raw value otherwise (float32)."""
        out = tf.cast(out, tf.float32)
        return tf.sigmoid(out) if self.output == "logit" else out

    def __repr__(self):
        return f"Objective({self.name!r}, output={self.output!r}, d_options={self.d_options})"


def objective(loss="non_saturating", label_smoothing=0.0, ebgan_margin=1.0):
    """The `Objective` for a loss name (or a user's `(d_loss_fn, g_loss_fn)` pair).

    Args:
      loss: a name in `LOSSES`, or a pair of per-example functions of D's outputs (for a user's
        paired G loss `g(fake, real)`, build `Objective(..., g_needs_real=True)`). A pair's output
        kind is that of the registered loss with the same D function ("logit" for
        `minimax_discriminator_loss`), else "score".
      label_smoothing: one-sided smoothing s: the real target becomes `1 - s` (`real_target`);
        only for `SMOOTHABLE_LOSSES` and user pairs (whose D function must accept `real_target`).
      ebgan_margin: the margin m of "ebgan" (must be > 0; unused by the other losses).

    Raises:
      ValueError: naming the bad value and the valid choices.
    """
    if not 0.0 <= label_smoothing < 1.0:
        raise ValueError(
            f"label_smoothing must be in [0, 1). Received: label_smoothing={label_smoothing}"
        )
    if ebgan_margin <= 0:
        raise ValueError(f"ebgan_margin must be > 0. Received: ebgan_margin={ebgan_margin}")
    if isinstance(loss, Objective):
        if label_smoothing:
            raise ValueError(
                "label_smoothing cannot be applied to a ready Objective; bind real_target in its "
                f"d_options. Received: label_smoothing={label_smoothing}"
            )
        return loss
    if isinstance(loss, str):
        d_loss, g_loss = get(loss)
        name, output = loss, _OUTPUT_KIND[loss]
        if label_smoothing and name not in SMOOTHABLE_LOSSES:
            raise ValueError(
                f"label_smoothing applies to {list(SMOOTHABLE_LOSSES)}. "
                f"Received: loss={loss!r}, label_smoothing={label_smoothing}"
            )
    else:
        d_loss, g_loss = loss
        name = "custom"
        same_d = [n for n, (d, _) in LOSSES.items() if d is d_loss]
        output = _OUTPUT_KIND[same_d[0]] if same_d else "score"
    options = {}
    if label_smoothing:
        options["real_target"] = 1.0 - float(label_smoothing)
    if name == "ebgan":
        options["margin"] = float(ebgan_margin)
    return Objective(
        d_loss, g_loss, output=output, d_options=options, name=name,
        g_needs_real=name in PAIRED_LOSSES,
    )
