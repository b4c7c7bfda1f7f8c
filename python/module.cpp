// The `_llmsim` extension: the run driver (sim/driver/run.h) and the serving driver
// (sim/driver/serve.h) for Python. The pure-Python package
// python/llmsim/ wraps it; see its docstrings for the user-facing contract.
//
// Conversions: Python values cross into C++ as JSON text (the Python `json` module dumps them,
// nlohmann parses), and JSON documents come back the same way (nlohmann dumps, `json.loads`).
// Both ends print doubles with the shortest round-trip representation, so numbers arrive
// exactly as the CLI writes them to stats.json.
//
// Errors: llmsim::UserError (ConfigError, WorkloadError) becomes ValueError and InternalError
// RuntimeError, each with what() as the message (the CLI prints the same text after "error: ").
// A message is decoded as UTF-8 with invalid bytes replaced (U+FFFD): a message that echoes a
// user's string cut at a byte count would otherwise raise an exception with no message at all.
// An argument of the wrong type is a TypeError and a value out of range a ValueError, each
// naming the argument (never pybind11's "Unable to cast Python instance").
//
// The GIL is released while files are read and while the simulation runs; the driver's
// KernelSession serialises simulations in the process, so several Python threads may call run()
// (they take turns).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "sim/core/config.h"
#include "sim/core/error.h"
#include "sim/driver/presets.h"
#include "sim/driver/run.h"
#include "sim/driver/serve.h"
#include "workloads/model_config.h"
#include "workloads/serving/generator.h"
#include "workloads/serving/request.h"
#include "workloads/transformer.h"
#include "workloads/workload.h"

namespace py = pybind11;

// libsystemc's main() calls sc_main, so the library has an undefined reference to it that must
// resolve when the module is loaded. pybind11 hides the module's symbols; this one must be
// visible. It is never called.
extern "C" __attribute__((visibility("default"))) int sc_main(int, char**) {
  return 1;
}

namespace {

using llmsim::config::Json;

// The name recorded in reports ("arch" and "workload" of stats.json) for a dict argument.
constexpr const char* kDictName = "<dict>";

// json.dumps with NaN/Infinity refused (not JSON) and NumPy scalars and arrays accepted (their
// tolist() gives plain Python values), so sweeps may pass np.int64 and friends.
std::string dumps(const py::handle& obj) {
  const py::cpp_function plain([](const py::handle& o) -> py::object {
    if (py::hasattr(o, "tolist")) return o.attr("tolist")();
    throw py::type_error("cannot convert a " +
                         std::string(py::str(py::type::of(o).attr("__name__"))) + " to JSON");
  });
  return py::module_::import("json")
      .attr("dumps")(obj, py::arg("allow_nan") = false, py::arg("default") = plain)
      .cast<std::string>();
}

// A dict argument as JSON (through the same bounded reader as files); json.dumps's complaint
// (NaN, an object it cannot convert) as a ValueError / TypeError naming `key`.
Json to_json(const py::handle& obj, const std::string& key) {
  std::string text;
  try {
    text = dumps(obj);
  } catch (py::error_already_set& e) {
    const std::string why = py::str(e.value());
    if (e.matches(PyExc_TypeError)) throw py::type_error(key + ": " + why);
    throw py::value_error(key + ": " + why);
  }
  return llmsim::config::parse_json(text, key, /*comments=*/false);
}

py::object to_python(const Json& doc) {
  const py::object loads = py::module_::import("json").attr("loads");
  return loads(doc.dump());
}

std::string type_name(const py::handle& obj) {
  return py::str(py::type::of(obj).attr("__name__"));
}

// Raises `type` with `message` decoded as UTF-8, invalid bytes replaced: PyErr_SetString would
// leave the exception without a message when the text is not valid UTF-8.
void set_error(PyObject* type, const char* message) {
  PyObject* text =
      PyUnicode_DecodeUTF8(message, static_cast<Py_ssize_t>(std::strlen(message)), "replace");
  if (text == nullptr) {  // out of memory
    PyErr_SetString(type, "(the error message could not be decoded)");
    return;
  }
  PyErr_SetObject(type, text);
  Py_DECREF(text);
}

// A str argument as UTF-8; ValueError naming `key` for a str that has no UTF-8 form (a lone
// surrogate) or holds a NUL character, TypeError for another type.
std::string utf8(const py::handle& obj, const std::string& key) {
  if (!py::isinstance<py::str>(obj)) {
    throw py::type_error(key + " must be a str, got " + type_name(obj));
  }
  Py_ssize_t size = 0;
  const char* data = PyUnicode_AsUTF8AndSize(obj.ptr(), &size);
  if (data == nullptr) {
    PyErr_Clear();
    throw py::value_error(key + ": " + std::string(py::repr(obj)) +
                          " is not valid Unicode text (a lone surrogate)");
  }
  std::string out(data, static_cast<std::size_t>(size));
  if (out.find('\0') != std::string::npos) {  // C++ messages would be cut at the NUL
    throw py::value_error(key + ": " + std::string(py::repr(obj)) + " contains a NUL character");
  }
  return out;
}

bool is_mapping(const py::handle& obj) {
  return py::isinstance(obj, py::module_::import("collections.abc").attr("Mapping"));
}

// A str or an os.PathLike: stores it in `out` as the file system's bytes (os.fsencode, so a
// name the file system could not decode still names its file) and returns true; otherwise
// false. ValueError naming `key` for an empty path or one with a NUL character (no file has
// such a name, and C++ messages would be cut at the NUL).
bool as_path_string(const py::handle& obj, std::string& out, const char* key) {
  if (!py::isinstance<py::str>(obj) && !py::hasattr(obj, "__fspath__")) return false;
  const py::object os = py::module_::import("os");
  const py::bytes raw = os.attr("fsencode")(os.attr("fspath")(obj));
  out = raw;
  if (out.empty() || out.find('\0') != std::string::npos) {
    throw py::value_error(std::string(key) + ": " + std::string(py::repr(obj)) +
                          (out.empty() ? " is empty" : " contains a NUL character") +
                          "; a name or path names no file");
  }
  return true;
}

// An arch argument as given: a JSON document already, or a preset name / path to load later
// (without the GIL).
struct ArchArg {
  std::string name;
  Json doc;
  bool loaded = false;
};

ArchArg arch_arg(const py::handle& arch) {
  ArchArg a;
  if (as_path_string(arch, a.name, "arch")) return a;
  if (is_mapping(arch)) {
    a.name = kDictName;
    a.doc = to_json(arch, "arch");
    a.loaded = true;
    return a;
  }
  throw py::type_error("arch must be a preset name, a path or a dict, got " + type_name(arch));
}

struct WorkloadArg {
  std::string name_or_path;
  llmsim::workloads::Workload workload;
  bool loaded = false;
};

WorkloadArg workload_arg(const py::handle& workload) {
  WorkloadArg w;
  if (as_path_string(workload, w.name_or_path, "workload")) return w;
  if (is_mapping(workload)) {
    w.workload = llmsim::workloads::parse_workload(to_json(workload, "workload"), kDictName);
    w.loaded = true;
    return w;
  }
  throw py::type_error("workload must be a bundled workload name, a path or a dict, got " +
                       type_name(workload));
}

// None, a mapping {"path.to.key": value} (values JSON-encoded), a sequence of "path=value"
// strings, or one such string -> the driver's override list, in the given order.
std::vector<std::string> override_list(const py::handle& overrides) {
  std::vector<std::string> out;
  if (overrides.is_none()) return out;
  if (py::isinstance<py::str>(overrides)) {
    out.push_back(utf8(overrides, "overrides"));
    return out;
  }
  if (is_mapping(overrides)) {
    const py::object items = overrides.attr("items")();
    for (const auto& item : items) {
      const py::tuple kv = py::reinterpret_borrow<py::tuple>(item);
      if (!py::isinstance<py::str>(kv[0])) {
        throw py::type_error("overrides: keys must be str, got " + type_name(kv[0]) + " " +
                             std::string(py::repr(kv[0])));
      }
      const std::string key = utf8(kv[0], "overrides key");
      std::string value;
      try {
        value = dumps(kv[1]);
      } catch (py::error_already_set& e) {
        // json.dumps's own message ("Out of range float values are not JSON compliant",
        // "cannot convert a object to JSON"), prefixed by the key.
        const bool type_error = e.matches(PyExc_TypeError);
        const std::string why = py::str(e.value());
        if (type_error) throw py::type_error("overrides[\"" + key + "\"]: " + why);
        throw py::value_error("overrides[\"" + key + "\"]: " + why + ", got " +
                              std::string(py::repr(kv[1])));
      }
      out.push_back(key + "=" + value);
    }
    return out;
  }
  if (!py::isinstance<py::iterable>(overrides) || py::isinstance<py::bytes>(overrides)) {
    throw py::type_error(
        "overrides must be None, a dict or a list of \"path.to.key=value\" "
        "strings, got " +
        type_name(overrides));
  }
  std::size_t i = 0;
  for (const auto& item : py::iter(overrides)) {
    const std::string key = "overrides[" + std::to_string(i++) + "]";
    if (!py::isinstance<py::str>(item)) {
      throw py::type_error(key + " must be a \"path.to.key=value\" str, got " + type_name(item));
    }
    out.push_back(utf8(item, key));
  }
  return out;
}

// None, or a Python int (an index: int, NumPy integers; bool refused) in [min, 2^64 - 1];
// TypeError / ValueError naming `key` and the allowed range otherwise.
std::optional<std::uint64_t> optional_count(const py::handle& v, const char* key,
                                            std::uint64_t min) {
  if (v.is_none()) return std::nullopt;
  if (py::isinstance<py::bool_>(v) || !py::hasattr(v, "__index__")) {
    throw py::type_error(std::string(key) + " must be an int or None, got " + type_name(v));
  }
  const py::int_ i = py::module_::import("operator").attr("index")(v);
  const py::int_ max(std::numeric_limits<std::uint64_t>::max());
  if (i < py::int_(min) || i > max) {
    throw py::value_error(std::string(key) + ": must be an integer in [" + std::to_string(min) +
                          ", " + std::to_string(std::numeric_limits<std::uint64_t>::max()) +
                          "], got " + std::string(py::str(py::handle(i))));
  }
  return i.cast<std::uint64_t>();
}

// None (-> ""), or a str: the CLI's option text.
std::string optional_text(const py::handle& v, const char* key) {
  if (v.is_none()) return "";
  if (!py::isinstance<py::str>(v)) {
    throw py::type_error(std::string(key) + " must be a str or None, got " + type_name(v));
  }
  std::string s = utf8(v, key);
  if (s.empty())
    throw py::value_error(std::string(key) + ": must not be empty (None: the default)");
  return s;
}

// `timeline`: None or a path (str / PathLike) for the Chrome trace-event JSON timeline, capped
// at `timeline_max_events` spans (None: the default cap); a truncated timeline is reported with
// a RuntimeWarning, as the CLI reports it on stderr.
py::dict run(const py::handle& arch, const py::handle& workload, const py::handle& overrides,
             const py::handle& timeline, const py::handle& timeline_max_events,
             const py::handle& mapping, const py::handle& split, const py::handle& fusion,
             const py::handle& weights, const py::handle& tiles, const py::handle& values,
             const py::handle& values_seed, const py::handle& tokens,
             const py::handle& values_params, const py::handle& params_label,
             const py::handle& values_keep) {
  ArchArg a = arch_arg(arch);
  WorkloadArg w = workload_arg(workload);
  llmsim::driver::RunSpec spec;
  spec.overrides = override_list(overrides);
  if (!fusion.is_none() && !py::isinstance<py::bool_>(fusion)) {
    throw py::type_error("fusion must be True, False or None, got " + type_name(fusion));
  }
  spec.mapping = llmsim::driver::mapping_options(
      utf8(mapping, "mapping"), optional_text(split, "split"),
      fusion.is_none() ? "" : (fusion.cast<bool>() ? "on" : "off"),
      optional_text(weights, "weights"), optional_text(tiles, "tiles"));
  if (!py::isinstance<py::bool_>(values)) {
    throw py::type_error("values must be True or False, got " + type_name(values));
  }
  const auto seed = optional_count(values_seed, "values_seed", 0);
  if (values.cast<bool>()) {
    spec.values = llmsim::driver::ValuesSpec{seed.value_or(0)};
  } else if (seed) {
    throw py::type_error("values_seed: needs values=True");
  }
  // values_keep: "all" (the default) or "none" (RunResult keeps no values; docs/values.md).
  const std::string keep = utf8(values_keep, "values_keep");
  if (keep != "all" && keep != "none") {
    throw py::value_error("values_keep: must be \"all\" or \"none\", got \"" + keep + "\"");
  }
  if (spec.values) {
    spec.values->keep =
        keep == "all" ? llmsim::driver::KeepValues::all : llmsim::driver::KeepValues::none;
  } else if (keep != "all") {
    throw py::type_error("values_keep: needs values=True");
  }
  // tokens: None or a sequence of ints (llmsim.run has turned arrays and tensors into a list).
  if (!tokens.is_none()) {
    if (!py::isinstance<py::sequence>(tokens) || py::isinstance<py::str>(tokens)) {
      throw py::type_error("tokens must be a sequence of ints or None, got " + type_name(tokens));
    }
    const py::sequence seq = py::reinterpret_borrow<py::sequence>(tokens);
    if (seq.size() == 0) throw py::value_error("tokens: must not be empty (None: the default)");
    for (std::size_t i = 0; i < seq.size(); ++i) {
      const std::string key = "tokens[" + std::to_string(i) + "]";
      const auto id = optional_count(seq[i], key.c_str(), 0);
      if (!id) throw py::type_error(key + " must be an int, got None");
      spec.mapping.token_ids.push_back(*id);
    }
  }
  // values_params: a directory as written by llmsim.write_params (run(params=...) writes one).
  if (!values_params.is_none()) {
    if (!spec.values) throw py::type_error("params: needs values=True");
    spec.values->params_dir = utf8(values_params, "params");
    spec.values->params_label = params_label.is_none() ? "params " + spec.values->params_dir
                                                       : utf8(params_label, "params_label");
  }
  const auto cap = optional_count(timeline_max_events, "timeline_max_events", 1);
  if (!timeline.is_none()) {
    spec.timeline.emplace();
    if (!as_path_string(timeline, spec.timeline->path, "timeline")) {
      throw py::type_error("timeline must be a path (str or os.PathLike) or None, got " +
                           type_name(timeline));
    }
    if (cap) spec.timeline->max_events = *cap;
  } else if (cap) {
    throw py::type_error("timeline_max_events: needs timeline=PATH");
  }
  llmsim::driver::RunResult r;
  {
    py::gil_scoped_release release;
    spec.arch_name = a.name;
    spec.arch = a.loaded ? std::move(a.doc) : llmsim::driver::load_arch(a.name);
    spec.workload =
        w.loaded ? std::move(w.workload) : llmsim::workloads::load_workload(w.name_or_path);
    r = llmsim::driver::run(spec);
  }
  if (r.timeline_dropped > 0) {
    py::module_::import("warnings")
        .attr("warn")("timeline " + spec.timeline->path + ": truncated at " +
                          std::to_string(spec.timeline->max_events) + " spans (" +
                          std::to_string(r.timeline_dropped) +
                          " later spans dropped; raise timeline_max_events)",
                      py::module_::import("builtins").attr("RuntimeWarning"), 2);
  }
  py::dict out = to_python(r.stats);  // includes "ops"
  out["config"] = to_python(r.resolved_config);
  out["wall_seconds"] = r.wall_seconds;
  if (spec.values && spec.values->keep == llmsim::driver::KeepValues::all) {
    // Each op's output and each external operand as a float32 array of (rows, cols).
    const auto array = [](std::uint64_t rows, std::uint64_t cols, const std::vector<float>& d) {
      py::array_t<float> a({py::ssize_t(rows), py::ssize_t(cols)});
      if (!d.empty()) std::memcpy(a.mutable_data(), d.data(), d.size() * sizeof(float));
      return a;
    };
    py::list outputs, tensors;
    for (const auto& v : r.values) {
      py::dict o;
      o["name"] = v.name;
      o["stored"] = v.stored;
      o["data"] = v.stored ? py::object(array(v.rows, v.cols, v.data)) : py::object(py::none());
      outputs.append(o);
    }
    for (const auto& t : r.tensors) {
      py::dict o;
      o["op"] = t.op;
      o["role"] = t.role;
      o["data"] = array(t.rows, t.cols, t.data);
      tensors.append(o);
    }
    out["values"] = outputs;
    out["tensors"] = tensors;
  }
  return out;
}

py::object validate(const py::handle& arch, const py::handle& overrides) {
  ArchArg a = arch_arg(arch);
  const std::vector<std::string> sets = override_list(overrides);
  Json resolved;
  {
    py::gil_scoped_release release;
    const Json doc = a.loaded ? std::move(a.doc) : llmsim::driver::load_arch(a.name);
    resolved = llmsim::driver::validate(doc, sets);
  }
  return to_python(resolved);
}

py::object trace(const py::handle& model, const py::handle& batch, const py::handle& seq,
                 const py::handle& phase, const py::handle& kv_len, const py::handle& dtype_arg) {
  llmsim::workloads::TraceOptions o;
  o.batch = optional_count(batch, "batch", 1).value_or(1);
  o.seq = optional_count(seq, "seq", 1);
  o.kv_len = optional_count(kv_len, "kv_len", 0);
  o.phase = llmsim::workloads::parse_phase(utf8(phase, "phase"));
  const std::string dtype = utf8(dtype_arg, "dtype");
  const auto dt = llmsim::isa::parse_dtype(dtype);
  if (!dt) {
    throw py::value_error("dtype: must be one of " + std::string(llmsim::isa::kDTypeNames) +
                          ", got \"" + dtype + "\"");
  }
  o.dtype = *dt;
  std::string path;
  Json doc;
  if (!as_path_string(model, path, "model")) {
    if (!is_mapping(model)) {
      throw py::type_error("model must be a bundled model name, a path or a config dict, got " +
                           type_name(model));
    }
    doc = to_json(model, "model");
  }
  Json out;
  {
    py::gil_scoped_release release;
    const llmsim::workloads::ModelConfig m =
        path.empty() ? llmsim::workloads::parse_model_config(doc, kDictName)
                     : llmsim::workloads::load_model(path);
    out = llmsim::workloads::to_json(llmsim::workloads::build_trace(m, o));
  }
  return to_python(out);
}

py::object check_trace(const py::handle& trace) {
  WorkloadArg w = workload_arg(trace);
  Json out;
  {
    py::gil_scoped_release release;
    if (!w.loaded) w.workload = llmsim::workloads::load_workload(w.name_or_path);
    out = llmsim::workloads::to_json(w.workload);
  }
  return to_python(out);
}

// serve(): `llmsim serve` (sim/driver/serve.h) for Python; llmsim.serving.serve wraps it.

// The model argument of serve(): a bundled name or a path (loaded later, without the GIL), or
// a config dict (parsed now).
struct ModelArg {
  std::string path;
  Json doc;
};

ModelArg model_arg(const py::handle& model) {
  ModelArg m;
  if (as_path_string(model, m.path, "model")) return m;
  if (!is_mapping(model)) {
    throw py::type_error("model must be a bundled model name, a path or a config dict, got " +
                         type_name(model));
  }
  m.doc = to_json(model, "model");
  return m;
}

// `requests` as a sequence of (arrival_ns, input_tokens, output_tokens) triples of ints;
// TypeError / ValueError naming the element otherwise (the counts' ranges are checked by
// serving::validate_requests, with the others).
std::vector<llmsim::serving::Request> request_list(const py::handle& requests) {
  if (!py::isinstance<py::sequence>(requests) || py::isinstance<py::str>(requests)) {
    throw py::type_error(
        "requests must be a path or a sequence of (arrival_ns, input_tokens, "
        "output_tokens), got " +
        type_name(requests));
  }
  const py::sequence seq = py::reinterpret_borrow<py::sequence>(requests);
  if (seq.size() > llmsim::serving::kMaxRequests) {
    throw py::value_error("requests: at most " + std::to_string(llmsim::serving::kMaxRequests) +
                          " requests, got " + std::to_string(seq.size()));
  }
  std::vector<llmsim::serving::Request> out;
  out.reserve(seq.size());
  for (std::size_t i = 0; i < seq.size(); ++i) {
    const std::string key = "requests[" + std::to_string(i) + "]";
    const py::object item = seq[i];
    if (!py::isinstance<py::sequence>(item) || py::isinstance<py::str>(item) ||
        py::len(item) != 3) {
      throw py::type_error(key + " must be a triple (arrival_ns, input_tokens, output_tokens)" +
                           ", got " + std::string(py::repr(item)).substr(0, 60));
    }
    const py::sequence t = py::reinterpret_borrow<py::sequence>(item);
    llmsim::serving::Request r;
    r.id = i;
    const auto field = [&](std::size_t k, const char* name, std::uint64_t min) {
      const std::string what = key + "[" + std::to_string(k) + "] (" + name + ")";
      if (t[k].is_none()) throw py::type_error(what + " must be an int, got None");
      return *optional_count(t[k], what.c_str(), min);
    };
    r.arrival_ns = field(0, "arrival_ns", 0);
    r.input_tokens = field(1, "input_tokens", 1);
    r.output_tokens = field(2, "output_tokens", 1);
    out.push_back(r);
  }
  return out;
}

// An SLO in ns: None, or a number > 0 (finite).
std::optional<double> slo_ns(const py::handle& v, const char* key) {
  if (v.is_none()) return std::nullopt;
  if (py::isinstance<py::bool_>(v) || !py::hasattr(v, "__float__")) {
    throw py::type_error(std::string(key) + " must be a number or None, got " + type_name(v));
  }
  const double x = py::float_(py::reinterpret_borrow<py::object>(v));
  if (!(x > 0) || !std::isfinite(x)) {
    throw py::value_error(std::string(key) + ": must be a finite number > 0, got " +
                          std::string(py::repr(v)));
  }
  return x;
}

template <class T, class F>
py::array_t<T> column(const std::vector<llmsim::serving::RequestMetrics>& rows, F f) {
  py::array_t<T> a{py::ssize_t(rows.size())};
  T* d = a.mutable_data();
  for (std::size_t i = 0; i < rows.size(); ++i) d[i] = f(rows[i]);
  return a;
}

template <class T, class F>
py::array_t<T> iteration_column(const std::vector<llmsim::serving::IterationRecord>& rows, F f) {
  py::array_t<T> a{py::ssize_t(rows.size())};
  T* d = a.mutable_data();
  for (std::size_t i = 0; i < rows.size(); ++i) d[i] = f(rows[i]);
  return a;
}

// The per-request, per-token and per-iteration tables as {column: NumPy array}, the columns of
// requests.csv, tokens.csv and iterations.csv (workloads/serving/metrics_io.h); counts and
// times as int64 (every one is below 2^63), tpot_ns and energy_pj as float64 (tpot_ns NaN for
// a request of one output token).
py::dict request_columns(const std::vector<llmsim::serving::RequestMetrics>& rs) {
  using M = llmsim::serving::RequestMetrics;
  py::dict d;
  d["id"] = column<std::int64_t>(rs, [](const M& r) { return r.id; });
  d["arrival_ns"] = column<std::int64_t>(rs, [](const M& r) { return r.arrival_ns; });
  d["input_tokens"] = column<std::int64_t>(rs, [](const M& r) { return r.input_tokens; });
  d["output_tokens"] = column<std::int64_t>(rs, [](const M& r) { return r.output_tokens; });
  d["first_scheduled_ns"] =
      column<std::int64_t>(rs, [](const M& r) { return r.first_scheduled_ns; });
  d["first_token_ns"] = column<std::int64_t>(rs, [](const M& r) { return r.first_token_ns; });
  d["finish_ns"] = column<std::int64_t>(rs, [](const M& r) { return r.finish_ns; });
  d["queueing_ns"] = column<std::int64_t>(rs, [](const M& r) { return r.queueing_ns; });
  d["ttft_ns"] = column<std::int64_t>(rs, [](const M& r) { return r.ttft_ns; });
  d["tpot_ns"] = column<double>(rs, [](const M& r) {
    return r.tpot_ns ? *r.tpot_ns : std::numeric_limits<double>::quiet_NaN();
  });
  d["e2e_ns"] = column<std::int64_t>(rs, [](const M& r) { return r.e2e_ns; });
  d["preemptions"] = column<std::int64_t>(rs, [](const M& r) { return r.preemptions; });
  return d;
}

py::dict token_columns(const std::vector<llmsim::serving::RequestMetrics>& rs) {
  std::size_t n = 0;
  for (const auto& r : rs) n += 1 + r.itl_ns.size();
  py::array_t<std::int64_t> id{py::ssize_t(n)}, token{py::ssize_t(n)}, time{py::ssize_t(n)};
  std::int64_t *pi = id.mutable_data(), *pk = token.mutable_data(), *pt = time.mutable_data();
  std::size_t at = 0;
  for (const auto& r : rs) {
    std::uint64_t t = r.first_token_ns;
    for (std::size_t k = 0; k <= r.itl_ns.size(); ++k, ++at) {
      if (k > 0) t += r.itl_ns[k - 1];
      pi[at] = std::int64_t(r.id), pk[at] = std::int64_t(k), pt[at] = std::int64_t(t);
    }
  }
  py::dict d;
  d["request_id"] = id;
  d["token"] = token;
  d["time_ns"] = time;
  return d;
}

py::dict iteration_columns(const std::vector<llmsim::serving::IterationRecord>& rs) {
  using I = llmsim::serving::IterationRecord;
  py::dict d;
  d["index"] = iteration_column<std::int64_t>(rs, [](const I& r) { return r.index; });
  d["start_ns"] = iteration_column<std::int64_t>(rs, [](const I& r) { return r.start_ns; });
  d["end_ns"] = iteration_column<std::int64_t>(rs, [](const I& r) { return r.end_ns; });
  d["num_seqs"] = iteration_column<std::int64_t>(rs, [](const I& r) { return r.num_seqs; });
  d["num_tokens"] = iteration_column<std::int64_t>(rs, [](const I& r) { return r.num_tokens; });
  d["num_prefill_tokens"] =
      iteration_column<std::int64_t>(rs, [](const I& r) { return r.num_prefill_tokens; });
  d["num_decode_seqs"] =
      iteration_column<std::int64_t>(rs, [](const I& r) { return r.num_decode_seqs; });
  d["kv_blocks_used"] =
      iteration_column<std::int64_t>(rs, [](const I& r) { return r.kv_blocks_used; });
  d["num_preempted"] =
      iteration_column<std::int64_t>(rs, [](const I& r) { return r.num_preempted; });
  d["num_waiting"] = iteration_column<std::int64_t>(rs, [](const I& r) { return r.num_waiting; });
  d["cycles"] = iteration_column<std::int64_t>(rs, [](const I& r) { return r.cycles; });
  d["energy_pj"] = iteration_column<double>(rs, [](const I& r) { return r.energy_pj; });
  return d;
}

// `requests`: a trace file (str / PathLike: .jsonl or .csv, read strictly by
// serving::read_requests) or a sequence of (arrival_ns, input_tokens, output_tokens);
// `generator`: instead, the generator's parameters as a dict in GeneratorParams' JSON form.
// Exactly one of them. `log`: None or a callable given each progress line (a str); it runs
// with the GIL taken and an exception from it is reported as unraisable, not propagated.
py::dict serve(const py::handle& arch, const py::handle& model, const py::handle& requests,
               const py::handle& generator, const py::handle& dtype_arg,
               const py::handle& overrides, const py::handle& cost,
               const py::handle& calibration_layers, const py::handle& check_iterations,
               const py::handle& check_seed, const py::handle& slo_ttft_ns,
               const py::handle& slo_tpot_ns, const py::handle& timeline, const py::handle& log,
               const py::handle& requests_source) {
  ArchArg a = arch_arg(arch);
  ModelArg m = model_arg(model);
  llmsim::driver::ServeSpec spec;
  spec.overrides = override_list(overrides);
  const std::string dtype = utf8(dtype_arg, "dtype");
  const auto dt = llmsim::isa::parse_dtype(dtype);
  if (!dt) {
    throw py::value_error("dtype: must be one of " + std::string(llmsim::isa::kDTypeNames) +
                          ", got \"" + dtype + "\"");
  }
  spec.dtype = *dt;
  spec.cost = utf8(cost, "cost");
  if (spec.cost != "table" && spec.cost != "exact") {
    throw py::value_error("cost: must be \"table\" or \"exact\", got \"" + spec.cost + "\"");
  }
  const auto layers = optional_count(calibration_layers, "calibration_layers", 1);
  const auto checks = optional_count(check_iterations, "check_iterations", 0);
  const auto seed = optional_count(check_seed, "check_seed", 0);
  if (spec.cost == "exact") {
    for (const auto& [name, given] : {std::pair{"calibration_layers", layers.has_value()},
                                      std::pair{"check_iterations", checks.has_value()},
                                      std::pair{"check_seed", seed.has_value()}}) {
      if (given) throw py::value_error(std::string(name) + ": applies only with cost=\"table\"");
    }
  }
  if (layers) {
    if (*layers > 1024) {
      throw py::value_error("calibration_layers: must be an integer in [1, 1024], got " +
                            std::to_string(*layers));
    }
    spec.calibration_layers = *layers;
  }
  if (checks) {
    if (*checks > 1000) {
      throw py::value_error("check_iterations: must be an integer in [0, 1000], got " +
                            std::to_string(*checks));
    }
    spec.check_iterations = *checks;
  }
  if (seed) spec.check_seed = *seed;
  spec.slo.ttft_ns = slo_ns(slo_ttft_ns, "slo_ttft_ns");
  spec.slo.tpot_ns = slo_ns(slo_tpot_ns, "slo_tpot_ns");

  if (requests.is_none() == generator.is_none()) {
    throw py::type_error("serve() takes exactly one of requests and generator");
  }
  std::string trace_path;
  std::optional<llmsim::serving::GeneratorParams> gen;
  if (!generator.is_none()) {
    if (!is_mapping(generator)) {
      throw py::type_error("generator must be a dict, got " + type_name(generator));
    }
    const Json doc = to_json(generator, "generator");
    Json resolved;
    llmsim::config::Reader r(doc, "", resolved);
    gen = llmsim::serving::GeneratorParams::parse(r);
    r.finish();
    spec.requests_source = "generated requests";
  } else if (!as_path_string(requests, trace_path, "requests")) {
    spec.requests = request_list(requests);
    spec.requests_source = "requests";
  }
  if (!requests_source.is_none()) spec.requests_source = utf8(requests_source, "requests_source");

  std::string timeline_path;
  if (!timeline.is_none() && !as_path_string(timeline, timeline_path, "timeline")) {
    throw py::type_error("timeline must be a path (str or os.PathLike) or None, got " +
                         type_name(timeline));
  }
  if (!log.is_none()) {
    if (!PyCallable_Check(log.ptr())) {
      throw py::type_error("log must be a callable or None, got " + type_name(log));
    }
    // Shared so that copying the std::function never touches the reference count without the
    // GIL; the last owner is `spec`, destroyed with the GIL held.
    auto fn = std::make_shared<py::object>(py::reinterpret_borrow<py::object>(log));
    spec.log = [fn](const std::string& line) {
      py::gil_scoped_acquire gil;
      try {
        (*fn)(line);
      } catch (py::error_already_set& e) {
        e.discard_as_unraisable("llmsim.serve log callback");
      }
    };
  }

  llmsim::driver::ServeResult r;
  {
    py::gil_scoped_release release;
    if (gen) spec.requests = llmsim::serving::generate_requests(*gen);
    if (!trace_path.empty()) {
      spec.requests = llmsim::serving::read_requests(trace_path);
      if (requests_source.is_none()) spec.requests_source = trace_path;
    }
    if (!timeline_path.empty()) {  // checked before the run, as the CLI does
      std::ofstream probe(timeline_path, std::ios::app);
      if (!probe) throw llmsim::UserError("timeline " + timeline_path + ": cannot write the file");
    }
    spec.arch_name = a.name;
    spec.arch = a.loaded ? std::move(a.doc) : llmsim::driver::load_arch(a.name);
    spec.model = m.path.empty() ? llmsim::workloads::parse_model_config(m.doc, kDictName)
                                : llmsim::workloads::load_model(m.path);
    r = llmsim::driver::serve(spec);
    if (!timeline_path.empty()) llmsim::driver::write_serve_timeline(r, timeline_path);
  }
  py::dict out;
  out["summary"] = to_python(llmsim::driver::summary_json(r));
  out["requests"] = request_columns(r.requests);
  out["tokens"] = token_columns(r.requests);
  out["iterations"] = iteration_columns(r.iterations);
  return out;
}

std::vector<std::string> preset_names() {
  std::vector<std::string> out;
  for (const auto& p : llmsim::driver::presets()) out.push_back(p.name);
  return out;
}

}  // namespace

PYBIND11_MODULE(_llmsim, m) {
  // The SystemC banner is printed when the first kernel context is made; keep it quiet unless
  // the user asked otherwise (setenv does not overwrite).
  setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 0);

  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const llmsim::UserError& e) {
      set_error(PyExc_ValueError, e.what());
    } catch (const llmsim::InternalError& e) {
      set_error(PyExc_RuntimeError, e.what());
    } catch (const nlohmann::json::exception& e) {
      set_error(PyExc_RuntimeError, e.what());
    }
  });

  m.doc() = "llmsim's C++ simulator; use the `llmsim` package rather than this module.";
  m.def("run", &run, py::arg("arch"), py::arg("workload"), py::arg("overrides") = py::none(),
        py::arg("timeline") = py::none(), py::arg("timeline_max_events") = py::none(),
        py::arg("mapping") = py::str("auto"), py::arg("split") = py::none(),
        py::arg("fusion") = py::none(), py::arg("weights") = py::none(),
        py::arg("tiles") = py::none(), py::arg("values") = false,
        py::arg("values_seed") = py::none(), py::arg("tokens") = py::none(),
        py::arg("values_params") = py::none(), py::arg("params_label") = py::none(),
        py::arg("values_keep") = py::str("all"),
        "Simulates `workload` on `arch`; returns the stats.json document as a dict with \"ops\", "
        "\"config\" and \"wall_seconds\" added (and with `values`, \"values\" and "
        "\"tensors\"). With `timeline`, writes a Chrome trace-event JSON timeline there (at "
        "most `timeline_max_events` spans).");
  m.def("serve", &serve, py::arg("arch"), py::arg("model"), py::arg("requests") = py::none(),
        py::arg("generator") = py::none(), py::arg("dtype") = py::str("bf16"),
        py::arg("overrides") = py::none(), py::arg("cost") = py::str("table"),
        py::arg("calibration_layers") = py::none(), py::arg("check_iterations") = py::none(),
        py::arg("check_seed") = py::none(), py::arg("slo_ttft_ns") = py::none(),
        py::arg("slo_tpot_ns") = py::none(), py::arg("timeline") = py::none(),
        py::arg("log") = py::none(), py::arg("requests_source") = py::none(),
        "Serves requests (a trace file, a list of (arrival_ns, input_tokens, output_tokens) or "
        "generator parameters) on `arch` with `model`, as `llmsim serve`; returns {\"summary\": "
        "the summary.json document, \"requests\", \"tokens\", \"iterations\": {column: "
        "array}} (the CSV tables' columns).");
  m.def("validate", &validate, py::arg("arch"), py::arg("overrides") = py::none(),
        "Checks an arch config; returns it resolved, every default written out.");
  m.def("trace", &trace, py::arg("model"), py::arg("batch") = 1, py::arg("seq") = py::none(),
        py::arg("phase") = py::str("prefill"), py::arg("kv_len") = py::none(),
        py::arg("dtype") = py::str("int8"),
        "The layer trace of a model (bundled name, config.json path or dict) as a dict.");
  m.def("check_trace", &check_trace, py::arg("trace"),
        "Validates a trace (dict, path or bundled workload name); returns it with every default "
        "written out.");
  m.def("models", &llmsim::workloads::bundled_models, "Names of the bundled models.");
  m.def("presets", &preset_names, "Names of the architecture presets.");
  m.def("workloads", &llmsim::workloads::bundled_workloads, "Names of the bundled workloads.");
}
