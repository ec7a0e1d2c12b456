"""Every text the Playground shows in tooltips and titles, in one place (no Qt).

Teachers hover before they click: each control says what it does and what to expect.
"""

from __future__ import annotations

DIVERGED_TEXT = "diverged: try a smaller learning rate"
NO_POINTS_TEXT = "Paint some points to train on (pick a class, then click in the plot)."
LEGEND_TIP = ("Colours show data, neuron and weight values: orange negative, blue positive; "
              "in the regions, each class's colour, stronger where the network is surer.")
NETWORK_HEADING_TIP = ("Click an input to switch that feature on or off; +/- change the layers "
                       "and neurons; hover an edge to see its weight, click it to type one.")
PLOT_PNG_TIP = "Save a picture of this plot: the regions, the points and the axes."
SHOW_TEST_TIP = ("Show the test points (dark rim). They are never trained on; "
                 "they check whether the network generalizes.")

TIPS = {
    "play": "Start or pause training (Space). The network adjusts its weights a little after every batch "
            "of training points.",
    "step": "Train for exactly one epoch (one pass over the training points), then stop.",
    "reset": "Start again from new random weights. The data and settings stay.",
    "epoch": "Epochs trained so far: one epoch is one pass over all training points.",
    "lr": "Learning rate: how big a step the weights take after each batch. Too small learns slowly; "
          "too large overshoots and the loss explodes.",
    "activation": "Activation: the bend each hidden neuron applies to its sum. Without a bend, any number of "
                  "layers can only draw a straight boundary. Sets every layer; click a layer's caption to set one.",
    "reg": "Regularization penalizes large weights, which keeps the boundary simple and helps the network "
           "do well on points it has not seen. L1 pushes weights to exactly zero, L2 shrinks them all.",
    "reg_rate": "How strongly large weights are penalized. Too much and the network cannot fit the data at all.",
    "problem": "Classification predicts a class (a colour); regression predicts a number (blue positive, "
               "orange negative).",
    "model": "Neural network: hidden layers of neurons. Logistic regression: one straight boundary with "
             "probabilities. Perceptron: Rosenblatt's rule, one straight boundary, no probabilities. (Straight "
             "in the chosen features: with x1² or sin(x1) switched on it curves in the plane.) Support vector "
             "machine: the widest margin between the classes, found by SMO; only the circled points matter.",
    "batch": "Batch size: how many training points are averaged for each weight update. Small batches are "
             "noisy but take more steps per epoch.",
    "optimizer": "How the gradient turns into a step: plain SGD, SGD with momentum (keeps rolling in a "
                 "consistent direction), or Adam (adapts the step size of every weight).",
    "dropout": "Dropout switches off this share of hidden neurons at random in every training step, so the "
               "network cannot rely on any single neuron: a regularizer.",
    "stop_epochs": "Stop by itself after this many epochs.",
    "stop_patience": "Early stopping: stop when the test loss has not improved for this many epochs in a row, "
                     "before the network starts to memorize the training points.",
    "speed": "Training speed in epochs per second: slow enough to talk over while the boundary forms, "
             "or slower still to watch each step.",
    "speed_max": "Train as fast as the computer goes (click again for the pace set before).",
    "cluster": "Send this exact setup (data, network, settings) to the Cluster view to train it as a job.",
    "test_loss": "Loss on the test points, which are never trained on: the honest measure of how well "
                 "the network generalizes.",
    "train_loss": "Loss on the training points: what the network is minimizing.",
    "discretize": "Show hard class regions instead of shading by confidence.",
}

#: what each model minimizes, as the loss curve's title names it
CRITERION_NAMES = {"classification": "Loss (cross-entropy)", "regression": "Loss (squared error)",
                   "perceptron": "Perceptron criterion", "svm": "Hinge loss", "kmeans": "Inertia per point"}
#: the same, short enough for a chart's title in large letters (presentation mode)
CRITERION_SHORT_NAMES = {"classification": "Cross-entropy", "regression": "Squared error",
                         "perceptron": "Perceptron criterion", "svm": "Hinge loss", "kmeans": "Inertia per point"}
CRITERION_TIPS = {
    "classification": "The loss is the cross-entropy: how surprised the network is by the true classes.",
    "regression": "The loss is the mean squared error of the predicted values.",
    "perceptron": "The perceptron gives no probabilities, so it has no cross-entropy: this is Rosenblatt's "
                  "criterion, the mean of how far the misclassified points' scores lie on the wrong side "
                  "(0 when every point is right). Do not compare it with a network's loss.",
    "svm": "An SVM minimises the hinge loss: how far points lie on the wrong side of their margin "
           "(0 for every point outside the margin on its own side).",
    "kmeans": "k-means minimises the inertia: the mean squared distance of each point to its centroid.",
}

MODEL_TITLES = {"mlp": "Neural network", "logistic": "Logistic regression", "perceptron": "Perceptron",
                "svm": "SVM", "kmeans": "k-means", "dbscan": "DBSCAN"}

FEATURE_LABELS = {
    "x1": "X₁", "x2": "X₂", "x1^2": "X₁²", "x2^2": "X₂²", "x1*x2": "X₁X₂", "sin(x1)": "sin(X₁)",
    "sin(x2)": "sin(X₂)",
}

FEATURE_TIPS = {
    "x1": "The horizontal coordinate of a point.",
    "x2": "The vertical coordinate of a point.",
    "x1^2": "x1 squared: lets even a network without hidden layers draw curved (parabola) boundaries.",
    "x2^2": "x2 squared: with x1² a single layer can separate a circle from a ring.",
    "x1*x2": "The product x1·x2: positive in two opposite quadrants, negative in the others (the XOR pattern).",
    "sin(x1)": "sin(x1): a wave along x1, useful for repeating patterns such as the spiral.",
    "sin(x2)": "sin(x2): a wave along x2.",
}

ACTIVATION_TIPS = {
    "relu": "ReLU: max(0, z). Fast to train; a neuron is off on one side of its line and linear on the other.",
    "tanh": "tanh: an S-curve from -1 to 1. Smooth and zero-centred, the classic choice for small networks.",
    "sigmoid": "sigmoid: an S-curve from 0 to 1. Saturates easily, which slows learning in deep networks.",
    "linear": "linear: no bend at all. A stack of linear layers can only draw straight boundaries.",
    "leaky_relu": "leaky ReLU: like ReLU but with a small slope for negative z, so neurons never die completely.",
}

PRESET_TITLES = {
    "circle": "Circle", "xor": "Exclusive or", "gauss": "Two Gaussians", "spiral": "Spiral", "moons": "Moons",
    "blobs": "Blobs", "linear": "Linear", "plane": "Plane", "multigauss": "Multi-Gaussian",
}

PRESET_TIPS = {
    "circle": "Circle: one class inside a ring of the other. No straight line separates them.",
    "xor": "Exclusive or: opposite quadrants share a class. A classic that a single neuron cannot learn.",
    "gauss": "Two Gaussians: two round clouds. A straight line separates them; noise makes them overlap.",
    "spiral": "Spiral: two interleaved arms. Hard: it needs several layers or sin features.",
    "moons": "Moons: two interleaved half circles.",
    "blobs": "Blobs: several clouds, one class each (choose how many).",
    "linear": "Linear: two classes split by a straight line. Even logistic regression learns it.",
    "plane": "Plane (regression): the value grows steadily across the plane.",
    "multigauss": "Multi-Gaussian (regression): bumps of positive and negative value.",
}
