"""Devices: `--device` checked before anything loads, and the BiLSTMs of both torch systems keeping separate weight
tensors on a GPU, so that safetensors (our best-epoch file, Accelerate's checkpoints, Trainer) can save them.

On a GPU, cuDNN's `flatten_parameters` makes every LSTM weight a view of one buffer and safetensors refuses to save
or load such a model ("None is covering the entire storage"): measured on an H200, training either system on the
GPU failed at its first best-epoch save. The last test runs only where there is a CUDA GPU."""

from __future__ import annotations

import pytest
import torch

from depdetect import DualEncoderConfig, DualEncoderForDepressionScoring, HybridForSequenceClassification
from depdetect.cli import main

from .conftest import TINY_BERT


def tiny_models(tiny_config):
    torch.manual_seed(0)
    encoder = {**TINY_BERT, "vocab_size": tiny_config.encoder_config.vocab_size}
    dual = DualEncoderConfig(prefix_encoder_config=encoder, sentence_encoder_config=encoder, lstm_hidden_size=4,
                             projection_size=8, prefix_length=2)
    return [HybridForSequenceClassification(tiny_config), DualEncoderForDepressionScoring(dual)]


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA GPU")
def test_a_device_this_machine_lacks_is_a_clear_error_before_loading(tmp_path, capsys):
    for device, message in (("cuda", "finds no CUDA GPU on this machine; pass --device cpu"),
                            ("gpu:0", "is not a device torch knows")):
        with pytest.raises(SystemExit):
            main(["predict", str(tmp_path / "no-model"), str(tmp_path / "no-file.jsonl"), "--device", device])
        assert message in capsys.readouterr().err


def test_both_bilstms_decline_cudnns_shared_weight_buffer(tiny_config):
    for model in tiny_models(tiny_config):
        lstm = model.lstm
        assert isinstance(lstm, torch.nn.LSTM)
        assert type(lstm).flatten_parameters is not torch.nn.LSTM.flatten_parameters
        names = [name for name, _ in lstm.named_parameters()]
        assert names[:2] == ["weight_ih_l0", "weight_hh_l0"]  # nn.LSTM's state dict: saved folders still load


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (cuDNN shares LSTM weights only there)")
def test_models_on_a_gpu_save_and_load_with_safetensors_and_accelerate(tiny_config, tmp_path):
    from accelerate import Accelerator
    from safetensors.torch import load_model, save_model

    for index, model in enumerate(tiny_models(tiny_config)):
        model = model.to("cuda")
        expected = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
        save_model(model, str(tmp_path / f"{index}.safetensors"))
        load_model(model, str(tmp_path / f"{index}.safetensors"))
        accelerator = Accelerator()
        prepared = accelerator.prepare(model)
        accelerator.save_state(str(tmp_path / f"state{index}"))
        accelerator.load_state(str(tmp_path / f"state{index}"))
        state = accelerator.unwrap_model(prepared).state_dict()
        assert all(torch.equal(v.cpu(), expected[k]) for k, v in state.items())
