// Times Hugging Face's Rust WordPiece (npm `tokenizers`, Node binding) on the lines of a file,
// bert-base-uncased settings built from vocab.txt (as tests/text/fixtures/make_hf_reference.js).
// Prints one JSON line: bytes, seconds (encode calls only), and the ids of the first lines so the
// caller can check both tokenizers agree.   node hf_tokenize.js VOCAB TEXT [check_lines]
const fs = require('fs');
const os = require('os');
const path = require('path');
const {Tokenizer} = require('tokenizers');
const [vocabPath, textPath, checkArg] = process.argv.slice(2);
const lines = fs.readFileSync(vocabPath, 'utf8').split('\n');
if (lines[lines.length - 1] === '') lines.pop();
const vocab = {};
lines.forEach((t, i) => { vocab[t.trimEnd()] = i; });
const added = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'].map(c => ({
  id: vocab[c], content: c, single_word: false, lstrip: false, rstrip: false, normalized: false,
  special: true}));
const spec = {version: '1.0', truncation: null, padding: null, added_tokens: added,
  normalizer: {type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true,
               strip_accents: null, lowercase: true},
  pre_tokenizer: {type: 'BertPreTokenizer'}, post_processor: null,
  decoder: {type: 'WordPiece', prefix: '##', cleanup: true},
  model: {type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##',
          max_input_chars_per_word: 100, vocab}};
const file = path.join(os.tmpdir(), `hf-bench-${process.pid}.json`);
fs.writeFileSync(file, JSON.stringify(spec));
const tok = Tokenizer.fromFile(file);
const text = fs.readFileSync(textPath, 'utf8').split('\n');
const check = parseInt(checkArg || '1000', 10);
(async () => {
  const batch = 1024;  // encodeBatch amortises the JS<->Rust crossing
  const ids = [];
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < text.length; i += batch) {
    const enc = await tok.encodeBatch(text.slice(i, i + batch), {addSpecialTokens: false});
    if (i < check) for (const e of enc.slice(0, check - i)) ids.push(e.getIds().join(' '));
  }
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  process.stdout.write(JSON.stringify({bytes: fs.statSync(textPath).size, seconds: s, ids}) + '\n');
})();
