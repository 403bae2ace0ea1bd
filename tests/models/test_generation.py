"""TransformersBackend on tiny real models: batching, left padding, sampling, streaming."""

import pytest

from models.backend import SamplingSettings
from models.errors import ModelLoadError
from models.generation import TransformersBackend, choose_backend, load_backend
from models.specs import ModelSpec
from scheduler import SchedulerError, build_messages, load_split

GREEDY = SamplingSettings(max_new_tokens=24)


@pytest.fixture(scope="module")
def conversations():
    return [build_messages(row["prompt"]) for row in load_split("test")[:4]]


@pytest.fixture(scope="module", params=["llama", "qwen2"])
def backend(request):
    path = request.getfixturevalue(f"tiny_{request.param}")
    return load_backend(ModelSpec(str(path)), prefer="auto")


def test_auto_picks_transformers_without_cuda(backend):
    assert isinstance(backend, TransformersBackend)
    info = backend.info()
    assert info["backend"] == "transformers" and info["device"] == "cpu" and info["dtype"] == "float32"
    assert len(info["chat_template_sha256"]) == 64 and info["n_parameters"] > 0
    assert backend.tokenizer.padding_side == "left"


def test_batched_greedy_equals_one_by_one(backend, conversations):
    """Left padding + attention mask: a prompt's answer does not depend on its batch neighbours."""
    batched = backend.generate(conversations, GREEDY, batch_size=4)
    alone = [backend.generate([c], GREEDY)[0] for c in conversations]
    assert [r.text for r in batched] == [r.text for r in alone]
    assert len({r.text for r in batched}) > 1  # the tiny model's answers depend on the prompt
    for r in batched:
        assert 1 <= r.n_new_tokens <= GREEDY.max_new_tokens


def test_sampling_is_seeded(backend, conversations):
    hot = SamplingSettings(temperature=1.5, max_new_tokens=16, seed=3)
    first = [r.text for r in backend.generate(conversations, hot)]
    again = [r.text for r in backend.generate(conversations, hot)]
    other = [r.text for r in backend.generate(conversations, SamplingSettings(temperature=1.5, max_new_tokens=16, seed=4))]
    assert first == again
    assert first != other


def test_stream_grows_to_the_greedy_answer(backend, conversations):
    pieces = list(backend.stream(conversations[0], GREEDY))
    assert pieces and all(b.startswith(a) for a, b in zip(pieces, pieces[1:]))
    assert pieces[-1] == backend.generate(conversations[:1], GREEDY)[0].text


def test_closing_a_stream_early_stops_generation(backend, conversations):
    stream = backend.stream(conversations[0], SamplingSettings(max_new_tokens=200))
    first = next(stream)
    stream.close()  # joins the generation thread; must not hang or raise
    assert isinstance(first, str)


def test_sampling_settings_are_validated():
    for bad in ({"temperature": -1}, {"top_p": 0}, {"top_p": 1.5}, {"max_new_tokens": 0}):
        with pytest.raises(SchedulerError):
            SamplingSettings(**bad)
    assert SamplingSettings().greedy and not SamplingSettings(temperature=1.0).greedy


def test_vllm_backend_is_refused_clearly_without_cuda(tiny_llama):
    with pytest.raises(ModelLoadError, match="vLLM backend needs"):
        load_backend(ModelSpec(str(tiny_llama)), prefer="vllm")
    with pytest.raises(ModelLoadError, match="Unknown backend"):
        choose_backend(ModelSpec(str(tiny_llama)), prefer="tgi")
