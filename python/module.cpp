// The `_llmsim` extension: the run driver (sim/driver/run.h) for Python. The pure-Python package
// python/llmsim/ wraps it; see its docstrings for the user-facing contract.
//
// Conversions: Python values cross into C++ as JSON text (the Python `json` module dumps them,
// nlohmann parses), and JSON documents come back the same way (nlohmann dumps, `json.loads`).
// Both ends print doubles with the shortest round-trip representation, so numbers arrive
// exactly as the CLI writes them to stats.json.
//
// Errors: llmsim::UserError (ConfigError, WorkloadError) becomes ValueError and InternalError
// RuntimeError, each with what() as the message (the CLI prints the same text after "error: ").
//
// The GIL is released while files are read and while the simulation runs; the driver's
// KernelSession serialises simulations in the process, so several Python threads may call run()
// (they take turns).
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdlib>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "sim/core/config.h"
#include "sim/core/error.h"
#include "sim/driver/presets.h"
#include "sim/driver/run.h"
#include "workloads/model_config.h"
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

Json to_json(const py::handle& obj) {
  return llmsim::config::parse_json(dumps(obj), "<dict>", /*comments=*/false);
}

py::object to_python(const Json& doc) {
  const py::object loads = py::module_::import("json").attr("loads");
  return loads(doc.dump());
}

bool is_mapping(const py::handle& obj) {
  return py::isinstance(obj, py::module_::import("collections.abc").attr("Mapping"));
}

// A str or an os.PathLike: stores it as a str in `out` and returns true; otherwise false.
bool as_path_string(const py::handle& obj, std::string& out) {
  if (py::isinstance<py::str>(obj)) {
    out = obj.cast<std::string>();
    return true;
  }
  if (py::hasattr(obj, "__fspath__")) {
    out = py::module_::import("os").attr("fspath")(obj).cast<std::string>();
    return true;
  }
  return false;
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
  if (as_path_string(arch, a.name)) return a;
  if (is_mapping(arch)) {
    a.name = kDictName;
    a.doc = to_json(arch);
    a.loaded = true;
    return a;
  }
  throw py::type_error("arch must be a preset name, a path or a dict, got " +
                       std::string(py::str(py::type::of(arch).attr("__name__"))));
}

struct WorkloadArg {
  std::string name_or_path;
  llmsim::workloads::Workload workload;
  bool loaded = false;
};

WorkloadArg workload_arg(const py::handle& workload) {
  WorkloadArg w;
  if (as_path_string(workload, w.name_or_path)) return w;
  if (is_mapping(workload)) {
    w.workload = llmsim::workloads::parse_workload(to_json(workload), kDictName);
    w.loaded = true;
    return w;
  }
  throw py::type_error("workload must be a bundled workload name, a path or a dict, got " +
                       std::string(py::str(py::type::of(workload).attr("__name__"))));
}

// None, a mapping {"path.to.key": value} (values JSON-encoded), a sequence of "path=value"
// strings, or one such string -> the driver's override list, in the given order.
std::vector<std::string> override_list(const py::handle& overrides) {
  std::vector<std::string> out;
  if (overrides.is_none()) return out;
  if (py::isinstance<py::str>(overrides)) {
    out.push_back(overrides.cast<std::string>());
    return out;
  }
  if (is_mapping(overrides)) {
    const py::dict items(py::reinterpret_borrow<py::object>(overrides));
    for (const auto& item : items) {
      if (!py::isinstance<py::str>(item.first)) {
        throw py::type_error("override keys must be str, got " +
                             std::string(py::str(py::type::of(item.first).attr("__name__"))));
      }
      out.push_back(item.first.cast<std::string>() + "=" + dumps(item.second));
    }
    return out;
  }
  for (const auto& item : py::iter(overrides)) {
    if (!py::isinstance<py::str>(item)) {
      throw py::type_error("overrides must be a dict or a list of \"path.to.key=value\" strings");
    }
    out.push_back(item.cast<std::string>());
  }
  return out;
}

// None, or a Python int in [min, 2^64) (bool refused); ValueError names `key` otherwise.
std::optional<std::uint64_t> optional_count(const py::handle& v, const char* key,
                                            std::uint64_t min) {
  if (v.is_none()) return std::nullopt;
  if (!py::isinstance<py::int_>(v) || py::isinstance<py::bool_>(v)) {
    throw py::type_error(std::string(key) + " must be an int or None, got " +
                         std::string(py::str(py::type::of(v).attr("__name__"))));
  }
  const py::int_ i = py::reinterpret_borrow<py::int_>(v);
  if (i < py::int_(min)) {
    throw py::value_error(std::string(key) + ": must be an integer >= " + std::to_string(min) +
                          ", got " + std::string(py::str(py::handle(i))));
  }
  return i.cast<std::uint64_t>();
}

// `timeline`: None or a path (str / PathLike) for the Chrome trace-event JSON timeline, capped
// at `timeline_max_events` spans (None: the default cap); a truncated timeline is reported with
// a RuntimeWarning, as the CLI reports it on stderr.
py::dict run(const py::handle& arch, const py::handle& workload, const py::handle& overrides,
             const py::handle& timeline, const py::handle& timeline_max_events,
             const std::string& mapping, const py::handle& split, const py::handle& fusion,
             const py::handle& weights) {
  ArchArg a = arch_arg(arch);
  WorkloadArg w = workload_arg(workload);
  llmsim::driver::RunSpec spec;
  spec.overrides = override_list(overrides);
  if (!split.is_none() && !py::isinstance<py::str>(split)) {
    throw py::type_error("split must be a str or None");
  }
  if (!fusion.is_none() && !py::isinstance<py::bool_>(fusion)) {
    throw py::type_error("fusion must be True, False or None");
  }
  if (!weights.is_none() && !py::isinstance<py::str>(weights)) {
    throw py::type_error("weights must be a str or None");
  }
  spec.mapping = llmsim::driver::mapping_options(
      mapping, split.is_none() ? "" : split.cast<std::string>(),
      fusion.is_none() ? "" : (fusion.cast<bool>() ? "on" : "off"),
      weights.is_none() ? "" : weights.cast<std::string>());
  const auto cap = optional_count(timeline_max_events, "timeline_max_events", 1);
  if (!timeline.is_none()) {
    spec.timeline.emplace();
    if (!as_path_string(timeline, spec.timeline->path)) {
      throw py::type_error("timeline must be a path (str or os.PathLike) or None, got " +
                           std::string(py::str(py::type::of(timeline).attr("__name__"))));
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
                 const std::string& phase, const py::handle& kv_len, const std::string& dtype) {
  llmsim::workloads::TraceOptions o;
  o.batch = optional_count(batch, "batch", 1).value_or(1);
  o.seq = optional_count(seq, "seq", 1);
  o.kv_len = optional_count(kv_len, "kv_len", 0);
  o.phase = llmsim::workloads::parse_phase(phase);
  const auto dt = llmsim::isa::parse_dtype(dtype);
  if (!dt) {
    throw py::value_error("dtype: must be one of " + std::string(llmsim::isa::kDTypeNames) +
                          ", got \"" + dtype + "\"");
  }
  o.dtype = *dt;
  std::string path;
  Json doc;
  if (!as_path_string(model, path)) {
    if (!is_mapping(model)) {
      throw py::type_error("model must be a bundled model name, a path or a config dict, got " +
                           std::string(py::str(py::type::of(model).attr("__name__"))));
    }
    doc = to_json(model);
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
      PyErr_SetString(PyExc_ValueError, e.what());
    } catch (const llmsim::InternalError& e) {
      PyErr_SetString(PyExc_RuntimeError, e.what());
    }
  });

  m.doc() = "llmsim's C++ simulator; use the `llmsim` package rather than this module.";
  m.def("run", &run, py::arg("arch"), py::arg("workload"), py::arg("overrides") = py::none(),
        py::arg("timeline") = py::none(), py::arg("timeline_max_events") = py::none(),
        py::arg("mapping") = "auto", py::arg("split") = py::none(),
        py::arg("fusion") = py::none(), py::arg("weights") = py::none(),
        "Simulates `workload` on `arch`; returns the stats.json document as a dict with \"ops\", "
        "\"config\" and \"wall_seconds\" added. With `timeline`, writes a Chrome trace-event "
        "JSON timeline there (at most `timeline_max_events` spans).");
  m.def("validate", &validate, py::arg("arch"), py::arg("overrides") = py::none(),
        "Checks an arch config; returns it resolved, every default written out.");
  m.def("trace", &trace, py::arg("model"), py::arg("batch") = 1, py::arg("seq") = py::none(),
        py::arg("phase") = "prefill", py::arg("kv_len") = py::none(), py::arg("dtype") = "int8",
        "The layer trace of a model (bundled name, config.json path or dict) as a dict.");
  m.def("check_trace", &check_trace, py::arg("trace"),
        "Validates a trace (dict, path or bundled workload name); returns it with every default "
        "written out.");
  m.def("models", &llmsim::workloads::bundled_models, "Names of the bundled models.");
  m.def("presets", &preset_names, "Names of the architecture presets.");
  m.def("workloads", &llmsim::workloads::bundled_workloads, "Names of the bundled workloads.");
}
