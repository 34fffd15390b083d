"""The shipped accelerate configs (training/configs/accelerate/*.yaml): each loads with accelerate's own config
loader, the multi-node ones name every field a user must fill, and the FSDP ones wrap classes the model has."""

from pathlib import Path

import pytest
from accelerate.commands.config.config_args import ClusterConfig, load_config_from_file
from accelerate.utils import DistributedType
from conftest import make_tiny_config

from emotifusion_hf import EmotiFusionForEmotionClassification

CONFIGS = Path(__file__).resolve().parent.parent / "training" / "configs" / "accelerate"
MULTI_NODE_FIELDS = ("machine_rank", "main_process_ip", "main_process_port", "num_machines", "num_processes",
                     "rdzv_backend")


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("*.yaml")), ids=lambda path: path.name)
def test_every_config_loads_with_accelerates_loader(path):
    config = load_config_from_file(str(path))
    assert isinstance(config, ClusterConfig)
    assert config.distributed_type in (DistributedType.MULTI_GPU, DistributedType.FSDP)
    assert config.num_processes >= config.num_machines >= 1 and 0 <= config.machine_rank < config.num_machines
    if config.distributed_type == DistributedType.FSDP:
        assert config.fsdp_config["fsdp_version"] == 2
        # The state dict is gathered whole: the final checkpoint loads with `from_pretrained` on one machine.
        assert config.fsdp_config["fsdp_state_dict_type"] == "FULL_STATE_DICT"


@pytest.mark.parametrize("name", ["multinode_ddp.yaml", "multinode_fsdp.yaml"])
def test_multi_node_configs_name_the_fields_to_fill(name):
    config = load_config_from_file(str(CONFIGS / name))
    assert config.num_machines > 1 and config.main_process_ip and config.main_process_port
    assert config.rdzv_backend in ("static", "c10d")
    lines = (CONFIGS / name).read_text().splitlines()
    for field in MULTI_NODE_FIELDS:
        explained = [line for line in lines if line.startswith("#") and line[1:].split()[:1] == [field]]
        marked = [line for line in lines if line.startswith(f"{field}:") and "FILL" in line]
        assert explained and marked, field


def test_fsdp_configs_wrap_classes_the_model_has():
    model = EmotiFusionForEmotionClassification(make_tiny_config())
    classes = {type(module).__name__ for module in model.modules()}
    for path in CONFIGS.glob("*fsdp*.yaml"):
        wrapped = load_config_from_file(str(path)).fsdp_config["fsdp_transformer_layer_cls_to_wrap"].split(",")
        assert set(wrapped) <= classes, (path.name, set(wrapped) - classes)
