"""Shared base config: the paper's MNIST model (docs/references.md §1); other configs change a few
fields. Not meant to be run by itself (see mnist_mlp.py, fashion_mnist_mlp.py, ring8.py, grid25.py).

Every field can be overridden on the command line, e.g. `--config.train.epochs=3`; an unknown
field or a value of the wrong type is an error. "" / 0 mean "default" / "no cap" where noted.
"""

import ml_collections


def get_config():
    config = ml_collections.ConfigDict()
    config.seed = 0  # network init, training noise, data order

    config.data = ml_collections.ConfigDict()
    config.data.name = "mnist"  # a name in tfgan_orig.data.DATASETS
    config.data.data_dir = ""  # IDX folder or tfds data_dir; "" = defaults (Debian's package, tfds)
    config.data.limit = 0  # use only the first `limit` training examples; 0 = all

    config.model = ml_collections.ConfigDict()
    config.model.generator = "paper"  # train_lib.GENERATORS
    config.model.discriminator = "paper"  # train_lib.DISCRIMINATORS
    config.model.latent_dim = 100
    config.model.noise = "uniform"  # "uniform" (U(-sqrt3, sqrt3), the authors') or "normal"
    config.model.g_hidden_units = (1200, 1200)
    config.model.g_init_scale = 0.05  # paper G: weights ~ U(-0.05, 0.05)
    config.model.g_batch_norm = True  # mlp generator only
    config.model.output_bias = "pixel_mean"  # paper G's output bias: "pixel_mean" or "zeros"
    config.model.d_units = 240
    config.model.d_pieces = 5
    config.model.d_layers = 2
    config.model.d_init_scale = 0.005  # paper D: weights ~ U(-0.005, 0.005)
    config.model.d_input_keep = 0.8  # paper D: dropout keep probabilities
    config.model.d_hidden_keep = 0.5
    # The GAN family's model-independent options (docs/family.md), all off:
    config.model.conditional = False  # labels into G and D (dcgan nets)
    config.model.aux_classifier = False  # AC-GAN head on D (needs conditional)
    config.model.ema_decay = 0.0  # generator EMA (0 = off); exported when on

    config.loss = ml_collections.ConfigDict()
    config.loss.name = "non_saturating"  # tfgan_orig.losses.LOSSES
    config.loss.label_smoothing = 0.0  # one-sided: real target 1 - label_smoothing
    config.loss.gradient_penalty_weight = 0.0  # WGAN-GP lambda (10 in the paper)
    config.loss.clip_value = 0.0  # WGAN weight clipping c (0.01 in the paper); 0 = off
    config.loss.ebgan_margin = 1.0  # EBGAN's m
    config.loss.aux_classifier_weight = 1.0  # AC-GAN class loss weight

    config.optimizer = ml_collections.ConfigDict()
    config.optimizer.name = "paper_sgd"  # "paper_sgd", "sgd" or "adam"
    config.optimizer.d_learning_rate = 0.1
    config.optimizer.g_learning_rate = 0.1
    config.optimizer.beta_1 = 0.5  # adam
    config.optimizer.beta_2 = 0.999  # adam
    config.optimizer.momentum = 0.5  # sgd; paper_sgd's initial momentum
    config.optimizer.final_momentum = 0.7  # paper_sgd
    config.optimizer.momentum_ramp_epochs = (1, 250)  # paper_sgd: ramp from epoch 1 to 250
    config.optimizer.lr_decay = 1.000004  # paper_sgd: lr divided by this after every step
    config.optimizer.min_learning_rate = 1e-6  # paper_sgd

    config.train = ml_collections.ConfigDict()
    config.train.epochs = 100
    config.train.batch_size = 100  # the minibatch m (global, over all replicas)
    config.train.d_steps = 1  # k of Algorithm 1: D updates per G update
    config.train.steps_per_epoch = 0  # cap on steps per epoch (quick runs); 0 = whole dataset
    config.train.log_every_steps = 100  # TensorBoard scalar window; 0 = epoch ends only
    config.train.num_samples = 64  # pictures per epoch (64 images; use ~2500 for 2-D scatter)
    config.train.sample_seed = 1234  # the fixed latent batch of the pictures
    config.train.max_checkpoints = 3
    config.train.deterministic = False  # tf.config.experimental.enable_op_determinism()
    config.train.steps_per_execution = 1
    config.train.jit_compile = False  # XLA (single device only)
    config.train.instance_noise_std = 0.0  # sigma_0 of instance noise on D's inputs
    config.train.instance_noise_decay_steps = 0  # linear anneal to 0 over these G steps; 0 = const
    config.train.unrolled_steps = 0  # unrolled GAN's k (Metz et al. 2017)
    config.train.unrolled_learning_rate = 0.0  # step size of the unrolled D steps; 0 = D's lr
    config.train.precision = "float32"  # or "mixed_float16" (loss-scaled), "mixed_bfloat16"
    config.train.verbose = 1  # Keras progress: 1 = bar, 2 = one line per epoch, 0 = silent
    config.train.export = True  # export the generator SavedModel at the end
    config.train.time_limit_minutes = 0.0  # stop at an epoch end before this; 0 = no limit
    config.train.on_nonfinite = "stop"  # NaN/Inf loss: "stop" (exit non-zero) or "skip" the update
    config.train.max_consecutive_skips = 100  # "skip": stop after this many skipped updates in a row
    config.train.min_free_bytes = 0  # free disk space required beyond the run's estimated needs

    # Metrics logged to TensorBoard (DIR/tensorboard/eval) during training; see tfgan_orig.evaluation
    # (e.g. "modes" for the 2-D mixtures, "fd,prd" for images). "" = none.
    config.eval = ml_collections.ConfigDict()
    config.eval.metrics = ""
    config.eval.every_n_epochs = 1
    config.eval.num_samples = 0  # 0 = the metric's standard count (2,500 for modes)
    return config
