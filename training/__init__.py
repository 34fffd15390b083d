"""Training, evaluation and the offline demo for EmotiFusion.

`python -m training.train CONFIG.yaml` fine-tunes a model with the Hugging Face `Trainer` (single process, or any
number of processes under `accelerate launch`); `emotifusion evaluate` and `emotifusion demo` drive
`training.evaluate` and `training.demo`.

- `train`: the script, `main` top to bottom (setup, data, model, train, evaluate, calibrate, save);
- `arguments`: `ModelArguments`, `DataArguments`, YAML + flags parsing (config fields -> `EmotiFusionConfig`), the
  recipe's `TrainingArguments` adjustments;
- `model_setup`: tokenizer, processor, model (new or continued) and class weights;
- `data`: loading the dataset (or building the demo one), choosing splits, giving them their transforms;
- `augment`: albumentations pipelines, the dataset transform and the collator;
- `trainer`: `EmotiFusionTrainer` (optimizer groups, sampler, calibration, final save);
- `callbacks`: backbone freezing and the epoch hand-over; `sampler`: the class-balanced sampler;
- `text_backbone`, `text_cache`: where the text stream comes from, and replaying a frozen encoder's states;
- `metrics`: classification figures (scikit-learn) and calibration; `evaluate`: the report; `demo`: the demo.
"""
