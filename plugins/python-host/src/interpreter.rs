//! The embedded interpreter: started once per process (or found running, inside the `tradsys`
//! Python package), and the strategy classes it loads, kept while their source is unchanged.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use pyo3::prelude::*;
use pyo3::types::{PyList, PyString};
use sha2::{Digest, Sha256};
use tradsys_core::component::ComponentError;

use crate::declared::Declared;
use crate::instance::Role;

/// A strategy class, imported and read.
#[derive(Debug)]
pub(crate) struct LoadedClass {
    /// The class object.
    pub(crate) class: Py<PyAny>,
    /// How messages name it: `file.py:Class` or `module:Class`.
    pub(crate) label: String,
    /// What it declares.
    pub(crate) declared: Declared,
}

/// Classes loaded in this process, by the config's spec, its `path` and (for a file) a digest of
/// the source: a file edited between two loads (a swap in `serve`) is executed again, an unchanged
/// one is not, so a plan and its build see the same class.
type Cache = HashMap<(String, Vec<String>, [u8; 32], Role), Arc<LoadedClass>>;

static CLASSES: Mutex<Option<Cache>> = Mutex::new(None);

/// Starts the interpreter unless it runs already (the package's case: Python imported us).
pub(crate) fn ensure_started() {
    Python::initialize();
}

/// Where the class comes from.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Source<'a> {
    /// A `.py` file, executed as a module of its own.
    File(&'a str),
    /// An importable module.
    Module(&'a str),
}

/// Imports class `class_name` from `source`, with `path` in front of `sys.path`, and reads its
/// declarations for `role`.
///
/// # Errors
/// A missing file, module or class, an exception while importing (its traceback), or
/// declarations that are not what they should be.
pub(crate) fn load_class(
    source: &Source<'_>,
    class_name: &str,
    path: &[String],
    role: Role,
) -> Result<Arc<LoadedClass>, ComponentError> {
    let source = *source;
    let spec = match source {
        Source::File(file) => format!("{file}:{class_name}"),
        Source::Module(module) => format!("{module}:{class_name}"),
    };
    if !is_identifier(class_name) {
        return Err(ComponentError::new(format!(
            "class must be the name of a class (a Python identifier), got {}",
            tradsys_core::limits::excerpt(class_name)
        )));
    }
    let digest = match source {
        Source::File(file) => {
            let bytes = std::fs::read(file)
                .map_err(|error| ComponentError::new(format!("class {spec}: cannot read {file}: {error}")))?;
            Sha256::digest(&bytes).into()
        }
        Source::Module(_) => [0; 32],
    };
    let key = (spec.clone(), path.to_vec(), digest, role);
    if let Some(loaded) = CLASSES.lock().unwrap_or_else(PoisonError::into_inner).get_or_insert_default().get(&key) {
        return Ok(Arc::clone(loaded));
    }
    ensure_started();
    let loaded = Python::attach(|py| -> Result<LoadedClass, ComponentError> {
        let module = import(py, &source, path, &digest).map_err(|error| {
            let from = match source {
                Source::File(file) => format!("executing {file}"),
                Source::Module(module) => format!("importing {module}"),
            };
            ComponentError::new(format!("class {spec}: {from} raised {}", describe(py, &error)))
        })?;
        let label = match source {
            Source::File(file) => {
                let name = Path::new(file).file_name().map_or(file.into(), |name| name.to_string_lossy());
                format!("{name}:{class_name}")
            }
            Source::Module(module) => format!("{module}:{class_name}"),
        };
        let Ok(class) = module.getattr(class_name) else {
            let defined: Vec<String> = module
                .dir()
                .map(|names| names.iter().filter_map(|name| name.extract::<String>().ok()).collect())
                .unwrap_or_default();
            let classes: Vec<&String> = defined
                .iter()
                .filter(|name| {
                    module.getattr(name.as_str()).is_ok_and(|value| value.is_instance_of::<pyo3::types::PyType>())
                })
                .collect();
            let listed = if classes.is_empty() {
                "it defines no class".to_owned()
            } else {
                format!("it defines {}", classes.iter().map(|name| name.as_str()).collect::<Vec<_>>().join(", "))
            };
            return Err(ComponentError::new(format!("class {spec}: no class {class_name} there ({listed})")));
        };
        if !class.is_instance_of::<pyo3::types::PyType>() {
            return Err(ComponentError::new(format!("class {spec}: {class_name} is not a class")));
        }
        let declared =
            Declared::read(&class, role).map_err(|problem| ComponentError::new(format!("class {label}: {problem}")))?;
        Ok(LoadedClass { class: class.unbind(), label, declared })
    })?;
    let loaded = Arc::new(loaded);
    CLASSES.lock().unwrap_or_else(PoisonError::into_inner).get_or_insert_default().insert(key, Arc::clone(&loaded));
    Ok(loaded)
}

/// Runs the file (as a module of a name of its own, so two versions of one file can be loaded at
/// once) or imports the module, with `path` and the file's directory on `sys.path`.
fn import<'py>(
    py: Python<'py>,
    source: &Source<'_>,
    path: &[String],
    digest: &[u8; 32],
) -> PyResult<Bound<'py, PyAny>> {
    let sys_path = py.import("sys")?.getattr("path")?.cast_into::<PyList>()?;
    let mut front: Vec<String> = path.to_vec();
    if let Source::File(file) = source {
        let dir = Path::new(file).parent().map(|dir| dir.to_string_lossy().into_owned()).unwrap_or_default();
        front.push(if dir.is_empty() { ".".to_owned() } else { dir });
    }
    for dir in front.iter().rev() {
        if !sys_path.contains(dir)? {
            sys_path.insert(0, dir)?;
        }
    }
    match source {
        Source::Module(module) => Ok(py.import(*module)?.into_any()),
        Source::File(file) => {
            if !Path::new(file).is_file() {
                return Err(pyo3::exceptions::PyFileNotFoundError::new_err(format!("no such file: {file}")));
            }
            let stem = Path::new(file).file_stem().map_or("strategy".into(), |stem| stem.to_string_lossy());
            let stem: String = stem.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
            let hex: String = digest[..6].iter().map(|byte| format!("{byte:02x}")).collect();
            let name = format!("tradsys_strategy_{stem}_{hex}");
            let util = py.import("importlib.util")?;
            let spec = util.call_method1("spec_from_file_location", (&name, *file))?;
            let module = util.call_method1("module_from_spec", (&spec,))?;
            py.import("sys")?.getattr("modules")?.set_item(&name, &module)?;
            if let Err(error) = spec.getattr("loader")?.call_method1("exec_module", (&module,)) {
                let _ = py.import("sys")?.getattr("modules")?.del_item(&name);
                return Err(error);
            }
            Ok(module)
        }
    }
}

/// A Python identifier (a class name).
fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_') && chars.all(|c| c.is_alphanumeric() || c == '_')
}

/// An exception as Python prints it: the traceback, then `Type: message`.
pub(crate) fn describe(py: Python<'_>, error: &PyErr) -> String {
    let formatted = py.import("traceback").and_then(|traceback| {
        traceback.call_method1("format_exception", (error.get_type(py), error.value(py), error.traceback(py)))
    });
    match formatted.and_then(|lines| lines.extract::<Vec<String>>()) {
        Ok(lines) => lines.concat().trim_end().to_owned(),
        Err(_) => error.to_string(),
    }
}

/// The text of a Python value for a message (its `repr`, shortened).
pub(crate) fn repr(value: &Bound<'_, PyAny>) -> String {
    let text = value.repr().map_or_else(|_| "<unprintable>".to_owned(), |repr: Bound<'_, PyString>| repr.to_string());
    tradsys_core::limits::shorten(&text, 120).into_owned()
}
