"""Which microstructure is this? A crop classifier that knows the magnification.

Random crops of a micrograph, rescaled to a fixed size, go through a small CNN together with
their pixel size (µm/px); a Gaussian density per class on the embedding says "none of these"
for crops unlike anything seen in training. Many crops per image are averaged into class
probabilities (after Larmuseau et al., Scripta Materialia 2021).
"""

from .dataset import Sample, class_folders, load_folder
from .gradcam import gradcam_map
from .model import NONE_OF_THESE, Classifier, load_classifier
from .predict import ClassMap, ImagePrediction, class_map, classify_image
from .report import classify_with_maps, gradcam_target
from .table import classify_files, folder_pixel_sizes, images_in
from .train import TrainConfig, train_classifier

__all__ = [
    "NONE_OF_THESE",
    "ClassMap",
    "Classifier",
    "ImagePrediction",
    "Sample",
    "TrainConfig",
    "class_folders",
    "class_map",
    "classify_files",
    "classify_image",
    "classify_with_maps",
    "folder_pixel_sizes",
    "gradcam_map",
    "gradcam_target",
    "images_in",
    "load_classifier",
    "load_folder",
    "train_classifier",
]
