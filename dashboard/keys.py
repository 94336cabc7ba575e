"""The session-state keys more than one place reads: the user's settings and shared page state.

A widget's own key stays beside the widget; a key read somewhere else lives here, so a rename is one
edit. The per-document keys of a page start with its slot (`correct.`, `compare.`...), see session.py.
"""

ENGINE = "settings.engine"
MODE = "settings.mode"
ASPOSE_LICENSE = "settings.aspose_license"
LICENSE_UPLOAD = "settings.license_upload"
LICENSE_ERROR = "settings.license_error"

MODEL = "settings.model"
QUANTIZATION = "settings.quantization"
GPU_LAYERS = "settings.gpu_layers"
MODEL_FOLDER = "settings.model_folder"
ALLOW_DOWNLOAD = "settings.allow_download"
BACKEND = "settings.backend"
SERVER_URL = "settings.server_url"

RELEASE_REPORT = "model.release_report"  # what the last Release freed, shown until the next one
LOADED_MESSAGE = "models.loaded_message"  # what the Models page's Load did
RUN_IN_PROGRESS = "run.in_progress"  # a correction's mailbox, see run_control.py
BATCH_ROWS = "batch.rows"
EVALUATE_REPORT = "evaluate.report"
DEMO_SAMPLE = "demo.sample"
