"""Loading: LoRA adapters saved by peft, specs, presets and every way a load can fail clearly."""

import inspect
import json

import pytest
import torch

from models.backend import SamplingSettings
from models.errors import ModelLoadError
from models.generation import load_backend
from models.loading import cpu_has_bf16, load_causal_lm, load_model, load_tokenizer, resolve_dtype, resolve_model_path
from models.specs import PRESETS, ModelSpec, Preset, resolve_preset
from scheduler import SchedulerError, build_messages, load_split
from tests.model_folders import pickle_only_copy, without_chat_template


def make_adapter(base_path, out_dir):
    """A LoRA adapter saved by peft, with random B so it really changes the model."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(1)
    model = AutoModelForCausalLM.from_pretrained(base_path, use_safetensors=True)
    peft_model = get_peft_model(model, LoraConfig(r=8, lora_alpha=16, target_modules="all-linear", init_lora_weights=False))
    peft_model.save_pretrained(out_dir)
    return out_dir


@pytest.fixture(scope="module")
def adapter(tiny_llama, tmp_path_factory):
    return make_adapter(tiny_llama, tmp_path_factory.mktemp("adapters") / "tiny-lora")


def logits(loaded, text="Events:\n- Lunch (12:00 - 13:00)"):
    ids = loaded.tokenizer(text, return_tensors="pt")
    with torch.no_grad():
        return loaded.model(**ids).logits


def test_adapter_loads_merged_and_generates(tiny_llama, adapter):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    assert (adapter / "adapter_model.safetensors").is_file()
    base = load_model(ModelSpec(str(tiny_llama)))
    tuned = load_model(ModelSpec(str(tiny_llama), adapter=str(adapter)))
    assert not torch.allclose(logits(base), logits(tuned), atol=1e-3)  # the adapter is applied
    # Merging is exact up to float rounding: what generates is what peft trained.
    unmerged = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny_llama), str(adapter)).eval()
    ids = tuned.tokenizer("Events:\n- Lunch (12:00 - 13:00)", return_tensors="pt")
    with torch.no_grad():
        assert torch.allclose(unmerged(**ids).logits, logits(tuned), atol=1e-4)

    backend = load_backend(ModelSpec(str(tiny_llama), adapter=str(adapter)))
    (result,) = backend.generate([build_messages(load_split("test")[0]["prompt"])], SamplingSettings(max_new_tokens=8))
    assert result.n_new_tokens >= 1 and isinstance(result.text, str)
    assert backend.info()["adapter"] == str(adapter)
    assert backend.info()["decode_step"] == "eager"  # recorded with every eval run; CUDA graphs only on a GPU


def test_the_fast_dtype_is_bf16_only_where_the_cpu_multiplies_it(tmp_path, monkeypatch):
    from models import loading

    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor : 0\nflags : fpu sse avx2 avx512f avx512_vnni\n")
    assert not cpu_has_bf16(str(cpuinfo))
    cpuinfo.write_text("processor : 0\nflags : fpu avx512f avx512_bf16 amx_tile\n")
    assert cpu_has_bf16(str(cpuinfo))
    assert not cpu_has_bf16(str(tmp_path / "missing"))
    assert resolve_dtype(None, "cpu") == resolve_dtype("auto", "cpu") == torch.float32  # eval's CPU figures
    assert resolve_dtype("auto", "cuda") == resolve_dtype("fast", "cuda") == torch.bfloat16
    for native, expected in ((True, torch.bfloat16), (False, torch.float32)):
        monkeypatch.setattr(loading, "cpu_has_bf16", lambda native=native: native)
        assert resolve_dtype("fast", "cpu") == expected
    with pytest.raises(ModelLoadError, match="dtype must be one of"):
        resolve_dtype("int4", "cpu")


def test_a_backend_loads_in_the_dtype_asked(tiny_llama):
    backend = load_backend(ModelSpec(str(tiny_llama)), prefer="transformers", device="cpu", dtype="bfloat16")
    assert backend.info()["dtype"] == "bfloat16" and backend.model.dtype == torch.bfloat16
    (result,) = backend.generate([build_messages(load_split("test")[0]["prompt"])], SamplingSettings(max_new_tokens=4))
    assert result.n_new_tokens >= 1


def test_missing_adapter_folder_is_a_clear_error(tiny_llama, tmp_path):
    with pytest.raises(ModelLoadError, match="adapter folder .* does not exist"):
        load_backend(ModelSpec(str(tiny_llama), adapter=str(tmp_path / "nope")))


def test_adapter_without_safetensors_is_refused(tiny_llama, adapter, tmp_path):
    bad = tmp_path / "bin-adapter"
    bad.mkdir()
    (bad / "adapter_config.json").write_text((adapter / "adapter_config.json").read_text())
    (bad / "adapter_model.bin").write_bytes(b"pickle would run here")
    with pytest.raises(ModelLoadError, match="adapter_model.safetensors.*safetensors only"):
        load_model(ModelSpec(str(tiny_llama), adapter=str(bad)))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ModelLoadError, match="missing adapter_config.json, adapter_model.safetensors"):
        load_model(ModelSpec(str(tiny_llama), adapter=str(empty)))


def test_adapter_of_another_model_is_a_clear_error(adapter, tmp_path):
    from models.tiny import build_tiny_model

    narrow = build_tiny_model(tmp_path / "narrow-llama", arch="llama", hidden_size=32)
    with pytest.raises(ModelLoadError, match="does not fit the model"):
        load_model(ModelSpec(str(narrow), adapter=str(adapter)))


def test_adapter_with_misnamed_weights_is_refused(tiny_llama, adapter, tmp_path):
    """peft only warns when the weights are not found (the model would silently run as the base)."""
    import shutil

    from safetensors.torch import load_file, save_file

    renamed = tmp_path / "renamed"
    shutil.copytree(adapter, renamed)
    tensors = load_file(str(renamed / "adapter_model.safetensors"))
    save_file({k.replace("base_model.model.", "base_model.model.other."): v for k, v in tensors.items()},
              str(renamed / "adapter_model.safetensors"))
    with pytest.raises(ModelLoadError, match="lacks weights"):
        load_model(ModelSpec(str(tiny_llama), adapter=str(renamed)))


def test_weights_only_as_pickle_are_refused(tiny_llama, tmp_path, monkeypatch):
    folder = pickle_only_copy(tiny_llama, tmp_path / "pickled")
    unpickled = []
    monkeypatch.setattr(torch, "load", lambda *a, **k: unpickled.append(a) or pytest.fail("torch.load ran"))
    for load in (load_model, load_backend):  # the eval and app entry points
        with pytest.raises(ModelLoadError, match=r"only as pytorch_model\.bin \(pickle.*only safetensors weights are loaded"):
            load(ModelSpec(str(folder)))
    assert unpickled == []


def test_adapter_path_that_is_a_file_is_refused(tiny_llama, adapter):
    with pytest.raises(ModelLoadError, match="is a file; give the folder peft's save_pretrained wrote"):
        load_model(ModelSpec(str(tiny_llama), adapter=str(adapter / "adapter_model.safetensors")))


def remote_code_model(tiny_llama, folder, model_type):
    """A checkpoint whose config points at code shipped beside it; the code leaves a marker when it runs."""
    import shutil

    shutil.copytree(tiny_llama, folder)
    marker = folder / "REMOTE_CODE_RAN"
    (folder / "custom.py").write_text(
        f"open({str(marker)!r}, 'w').write('ran')\n"
        "from transformers import LlamaConfig, LlamaForCausalLM\n"
        f"class CustomConfig(LlamaConfig):\n    model_type = {model_type!r}\n"
        "class CustomModel(LlamaForCausalLM):\n    config_class = CustomConfig\n"
    )
    config = json.loads((folder / "config.json").read_text())
    config.update(model_type=model_type, auto_map={"AutoConfig": "custom.CustomConfig",
                                                   "AutoModelForCausalLM": "custom.CustomModel"})
    (folder / "config.json").write_text(json.dumps(config))
    return folder, marker


def test_remote_code_never_runs_unless_asked(tiny_llama, tmp_path):
    unknown, marker = remote_code_model(tiny_llama, tmp_path / "custom-arch", "custom-arch")
    for load in (load_model, load_backend):  # eval.run and the app load through load_backend
        with pytest.raises(ModelLoadError, match="(?s)custom code.*trust_remote_code=True"):
            load(ModelSpec(str(unknown)))
    assert not marker.exists()
    # A known architecture with an auto_map loads the library's own class; the shipped code stays unread.
    known, known_marker = remote_code_model(tiny_llama, tmp_path / "llama-with-code", "llama")
    assert type(load_model(ModelSpec(str(known))).model).__name__ == "LlamaForCausalLM"
    assert not known_marker.exists()
    # Asked for on purpose, it does run: the check above is not vacuous.
    try:
        load_model(ModelSpec(str(unknown)), trust_remote_code=True)
    except ModelLoadError:
        pass
    assert marker.exists()


def test_entry_points_keep_remote_code_off():
    from eval.run import EvalArgs

    assert EvalArgs().trust_remote_code is False
    for fn in (load_model, load_backend):
        assert inspect.signature(fn).parameters["trust_remote_code"].default is False


def test_model_paths_and_hub_ids(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelLoadError, match="neither a model folder"):
        resolve_model_path(str(tmp_path / "missing-model"))
    with pytest.raises(ModelLoadError, match="has no config.json"):
        resolve_model_path(str(tmp_path))
    assert resolve_model_path("Qwen/Qwen2.5-Coder-7B-Instruct") == "Qwen/Qwen2.5-Coder-7B-Instruct"
    with pytest.raises(ModelLoadError, match="not available locally.*HF_HUB_OFFLINE is set"):
        load_model(ModelSpec("nobody-here/no-such-model-xyz"))


def test_presets(tmp_path):
    assert set(PRESETS) == {"smollm2-135m", "qwen-7b"}
    qwen = resolve_preset("qwen-7b")
    assert qwen.base.model == "Qwen/Qwen2.5-Coder-7B-Instruct"
    assert qwen.tuned.model == "anakin87/qwen-scheduler-7b-grpo" and qwen.tuned.adapter is None
    smol = resolve_preset("smollm2-135m")
    assert smol.base.model == "smollm2-135m-instruct" and smol.base.adapter is None
    with pytest.raises(ModelLoadError, match="Unknown preset 'gpt-5'; choose from qwen-7b, smollm2-135m"):
        resolve_preset("gpt-5")

    missing = Preset("p", "1M", smol.base, ModelSpec("smollm2-135m-instruct", adapter=str(tmp_path / "absent")))
    assert missing.tuned is None and "does not exist" in missing.missing
    with pytest.raises(ModelLoadError, match="does not exist"):
        missing.side("tuned")
    (tmp_path / "absent").mkdir()
    assert missing.tuned is not None and missing.missing is None and missing.side("tuned").adapter
    with pytest.raises(ModelLoadError):
        missing.side("sideways")


def test_model_load_error_is_a_scheduler_error():
    assert issubclass(ModelLoadError, SchedulerError)


def test_heuristics_are_not_models():
    with pytest.raises(ModelLoadError, match="Unknown heuristic"):
        load_backend(ModelSpec("heuristic:random"))
    with pytest.raises(ModelLoadError, match="rule, not a model"):
        load_model(ModelSpec("heuristic:greedy"))


def test_adapter_config_must_be_json(tiny_llama, adapter, tmp_path):
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(adapter, broken)
    (broken / "adapter_config.json").write_text("{not json")
    with pytest.raises(ModelLoadError, match="not valid JSON"):
        load_model(ModelSpec(str(tiny_llama), adapter=str(broken)))
    assert json.loads((adapter / "adapter_config.json").read_text())["r"] == 8


def test_a_tokenizer_without_chat_template_is_a_clear_error(tiny_llama, tmp_path):
    folder = without_chat_template(tiny_llama, tmp_path / "no-template")
    for load in (lambda: load_tokenizer(str(folder)), lambda: load_model(ModelSpec(str(folder)))):
        with pytest.raises(ModelLoadError, match="has no chat template; a chat .instruct. model is needed"):
            load()


def test_tokenizers_pad_on_the_side_asked_for(tiny_llama, tmp_path):
    import shutil

    assert load_tokenizer(str(tiny_llama)).padding_side == "left"  # generation: the default
    assert load_tokenizer(str(tiny_llama), padding_side="right").padding_side == "right"  # SFT
    # A saved tokenizer_config that says otherwise does not change what the caller gets.
    saved_right = tmp_path / "saved-right"
    shutil.copytree(tiny_llama, saved_right)
    config = json.loads((saved_right / "tokenizer_config.json").read_text())
    (saved_right / "tokenizer_config.json").write_text(json.dumps({**config, "padding_side": "right"}))
    assert load_tokenizer(str(saved_right)).padding_side == "left"
    assert load_model(ModelSpec(str(saved_right))).tokenizer.padding_side == "left"
    # A tokenizer saved without a pad token gets the end-of-sequence token as one.
    no_pad = tmp_path / "no-pad"
    shutil.copytree(tiny_llama, no_pad)
    for name in ("tokenizer_config.json", "special_tokens_map.json"):
        if (no_pad / name).is_file():
            data = json.loads((no_pad / name).read_text())
            data.pop("pad_token", None)
            (no_pad / name).write_text(json.dumps(data))
    tok = load_tokenizer(str(no_pad))
    assert tok.pad_token == tok.eos_token and tok.pad_token_id is not None
    with pytest.raises(ValueError, match="padding_side must be 'left' or 'right'"):
        load_tokenizer(str(tiny_llama), padding_side="center")


def test_load_causal_lm_is_safetensors_only_and_passes_its_arguments(tiny_llama, tmp_path, monkeypatch):
    model = load_causal_lm(str(tiny_llama), torch.bfloat16, attn_implementation="eager")
    assert model.dtype == torch.bfloat16 and model.config._attn_implementation == "eager"
    assert model.device.type == "cpu"
    folder = pickle_only_copy(tiny_llama, tmp_path / "pickled")
    monkeypatch.setattr(torch, "load", lambda *a, **k: pytest.fail("torch.load ran"))
    with pytest.raises(ModelLoadError, match=r"only as pytorch_model\.bin \(pickle.*only safetensors weights are loaded"):
        load_causal_lm(str(folder), torch.float32)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelLoadError, match="not available locally.*HF_HUB_OFFLINE is set"):
        load_causal_lm("nobody-here/no-such-model-xyz", torch.float32)


def test_every_loader_keeps_remote_code_off():
    for fn in (load_causal_lm, load_tokenizer):
        assert inspect.signature(fn).parameters["trust_remote_code"].default is False
