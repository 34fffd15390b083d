"""Training, evaluation and the offline demo for EmotiFusion.

`python -m training.train CONFIG.yaml` fine-tunes a model with the Hugging Face `Trainer` (single process, or any
number of processes under `accelerate launch`); `emotifusion evaluate` and `emotifusion demo` drive
`training.evaluate` and `training.demo`.
"""
