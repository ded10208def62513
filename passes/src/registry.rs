//! The pass registry: built-in passes (declared in one list, [`crate::passes::BUILTIN`]),
//! user passes, and named pipelines such as `canonicalize`.
//!
//! A pass is registered with a constructor taking its options, deserialized with serde from
//! the pipeline text (`cse{max=100}` → `CseOptions { max: 100 }`). Unknown names are rejected
//! with the list of known ones.

use crate::pass::Pass;
use crate::pipeline::{PassOptions, PassSpec, Pipeline, PipelineError};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use std::collections::BTreeMap;

/// Options of a pass that takes none: any key is rejected.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoOptions {}

/// A pass with a static declaration, as built-in passes are. User passes may implement it too
/// and register with [`Registry::register_declared`].
pub trait DeclaredPass: Pass + Sized + 'static {
    /// Kebab-case name.
    const NAME: &'static str;
    /// One-line summary.
    const SUMMARY: &'static str;
    /// Options, deserialized from the pipeline text (`#[serde(default, deny_unknown_fields)]`).
    type Options: DeserializeOwned;
    /// Builds the pass.
    fn from_options(options: Self::Options) -> Self;
}

type Ctor = Box<dyn Fn(&PassOptions) -> Result<Box<dyn Pass>, String> + Send + Sync>;

/// A registered pass.
pub struct PassEntry {
    /// Kebab-case name.
    pub name: String,
    /// One-line summary.
    pub summary: String,
    /// True for passes of this crate.
    pub builtin: bool,
    ctor: Ctor,
}

impl std::fmt::Debug for PassEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PassEntry").field("name", &self.name).finish_non_exhaustive()
    }
}

/// A registered named pipeline.
#[derive(Debug, Clone)]
pub struct PipelineEntry {
    /// Name usable as a pipeline item.
    pub name: String,
    /// One-line summary.
    pub summary: String,
    /// What it expands to.
    pub pipeline: Pipeline,
}

/// Passes and named pipelines by name.
#[derive(Debug, Default)]
pub struct Registry {
    passes: BTreeMap<String, PassEntry>,
    pipelines: BTreeMap<String, PipelineEntry>,
}

/// One line of [`Registry::list`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// The name.
    pub name: String,
    /// Its summary.
    pub summary: String,
    /// `Some(expansion)` for a named pipeline.
    pub expands_to: Option<String>,
}

impl Registry {
    /// A registry without any pass.
    pub fn empty() -> Registry {
        Registry::default()
    }

    /// The built-in passes and pipelines.
    pub fn with_builtins() -> Registry {
        let mut r = Registry::empty();
        for decl in crate::passes::BUILTIN {
            (decl.register)(&mut r);
        }
        for (name, summary, text) in crate::passes::BUILTIN_PIPELINES {
            r.register_pipeline(name, summary, text).expect("built-in pipelines are well formed");
        }
        r
    }

    fn check_free(&self, name: &str) -> Result<(), PipelineError> {
        if self.passes.contains_key(name) || self.pipelines.contains_key(name) {
            return Err(PipelineError::Duplicate(name.to_string()));
        }
        if name.is_empty()
            || !name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return Err(PipelineError::Syntax {
                text: name.to_string(),
                pos: 0,
                message: "pass names are kebab-case (a-z, 0-9, -)".into(),
            });
        }
        Ok(())
    }

    /// Registers a pass under `name` with a constructor from its options `O`.
    pub fn register<O, P, F>(
        &mut self,
        name: &str,
        summary: &str,
        ctor: F,
    ) -> Result<(), PipelineError>
    where
        O: DeserializeOwned,
        P: Pass + 'static,
        F: Fn(O) -> P + Send + Sync + 'static,
    {
        self.check_free(name)?;
        let ctor: Ctor = Box::new(move |opts: &PassOptions| {
            let o: O = opts.parse()?;
            Ok(Box::new(ctor(o)) as Box<dyn Pass>)
        });
        self.passes.insert(
            name.to_string(),
            PassEntry { name: name.into(), summary: summary.into(), builtin: false, ctor },
        );
        Ok(())
    }

    /// Registers a [`DeclaredPass`].
    pub fn register_declared<P: DeclaredPass>(&mut self) -> Result<(), PipelineError> {
        self.register(P::NAME, P::SUMMARY, P::from_options)
    }

    pub(crate) fn register_builtin<P: DeclaredPass>(&mut self) {
        self.register_declared::<P>().expect("built-in pass names are unique");
        if let Some(e) = self.passes.get_mut(P::NAME) {
            e.builtin = true;
        }
    }

    /// Registers a named pipeline (usable as an item of other pipelines).
    pub fn register_pipeline(
        &mut self,
        name: &str,
        summary: &str,
        text: &str,
    ) -> Result<(), PipelineError> {
        self.check_free(name)?;
        let pipeline = Pipeline::parse(text)?;
        self.pipelines.insert(
            name.to_string(),
            PipelineEntry { name: name.into(), summary: summary.into(), pipeline },
        );
        // Reject unknown names and cycles now rather than at first use.
        if let Err(e) = self.expand(&Pipeline(vec![PassSpec::new(name)])) {
            self.pipelines.remove(name);
            return Err(e);
        }
        Ok(())
    }

    /// True if `name` is a pass or a named pipeline.
    pub fn contains(&self, name: &str) -> bool {
        self.passes.contains_key(name) || self.pipelines.contains_key(name)
    }

    /// The pass entry named `name`.
    pub fn pass(&self, name: &str) -> Option<&PassEntry> {
        self.passes.get(name)
    }

    /// The named pipeline `name`.
    pub fn named_pipeline(&self, name: &str) -> Option<&PipelineEntry> {
        self.pipelines.get(name)
    }

    /// Every name, sorted (passes and pipelines).
    pub fn names(&self) -> Vec<String> {
        let mut v: Vec<String> = self.passes.keys().chain(self.pipelines.keys()).cloned().collect();
        v.sort();
        v
    }

    /// Passes then named pipelines, each sorted by name (for `--list-passes`).
    pub fn list(&self) -> Vec<Listed> {
        let passes = self.passes.values().map(|e| Listed {
            name: e.name.clone(),
            summary: e.summary.clone(),
            expands_to: None,
        });
        let pipes = self.pipelines.values().map(|e| Listed {
            name: e.name.clone(),
            summary: e.summary.clone(),
            expands_to: Some(e.pipeline.to_string()),
        });
        passes.chain(pipes).collect()
    }

    /// The `--list-passes` text: one line per pass and pipeline.
    pub fn list_text(&self) -> String {
        let list = self.list();
        let w = list.iter().map(|l| l.name.len()).max().unwrap_or(0);
        let mut s = String::from("passes:\n");
        for l in list.iter().filter(|l| l.expands_to.is_none()) {
            s += &format!("  {:w$}  {}\n", l.name, l.summary);
        }
        s += "pipelines:\n";
        for l in list.iter().filter(|l| l.expands_to.is_some()) {
            s += &format!(
                "  {:w$}  {}\n  {:w$}    = {}\n",
                l.name,
                l.summary,
                "",
                l.expands_to.as_deref().unwrap_or("")
            );
        }
        s
    }

    fn unknown(&self, name: &str) -> PipelineError {
        PipelineError::UnknownPass { name: name.to_string(), known: self.names() }
    }

    /// Expands named pipelines recursively into passes only; checks every name.
    pub fn expand(&self, p: &Pipeline) -> Result<Pipeline, PipelineError> {
        let mut out = Vec::new();
        self.expand_into(p, &mut Vec::new(), &mut out)?;
        Ok(Pipeline(out))
    }

    fn expand_into(
        &self,
        p: &Pipeline,
        stack: &mut Vec<String>,
        out: &mut Vec<PassSpec>,
    ) -> Result<(), PipelineError> {
        for item in &p.0 {
            if self.passes.contains_key(&item.name) {
                out.push(item.clone());
            } else if let Some(named) = self.pipelines.get(&item.name) {
                if !item.options.is_empty() {
                    return Err(PipelineError::Options {
                        pass: item.name.clone(),
                        options: item.options.to_string(),
                        message: "a named pipeline takes no options".into(),
                    });
                }
                if stack.contains(&item.name) {
                    return Err(PipelineError::Recursive(item.name.clone()));
                }
                stack.push(item.name.clone());
                self.expand_into(&named.pipeline, stack, out)?;
                stack.pop();
            } else {
                return Err(self.unknown(&item.name));
            }
        }
        Ok(())
    }

    /// Builds one pass from its spec (a pass, not a named pipeline).
    pub fn build_pass(&self, spec: &PassSpec) -> Result<Box<dyn Pass>, PipelineError> {
        let e = self.passes.get(&spec.name).ok_or_else(|| self.unknown(&spec.name))?;
        (e.ctor)(&spec.options).map_err(|message| PipelineError::Options {
            pass: spec.name.clone(),
            options: spec.options.to_string(),
            message,
        })
    }

    /// Builds the passes of a pipeline, named pipelines expanded.
    pub fn build(&self, p: &Pipeline) -> Result<Vec<Box<dyn Pass>>, PipelineError> {
        self.expand(p)?.0.iter().map(|s| self.build_pass(s)).collect()
    }

    /// Parses and builds a pipeline.
    pub fn build_str(&self, text: &str) -> Result<Vec<Box<dyn Pass>>, PipelineError> {
        self.build(&Pipeline::parse(text)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::PassCx;
    use crate::pass::{Changed, PassError};
    use qcc_ir::Graph;

    struct Nop {
        tag: String,
    }
    impl Pass for Nop {
        fn name(&self) -> &str {
            &self.tag
        }
        fn summary(&self) -> &str {
            "does nothing"
        }
        fn run(&mut self, _: &mut Graph, _: &mut PassCx) -> Result<Changed, PassError> {
            Ok(Changed::No)
        }
    }
    #[derive(Deserialize, Default)]
    #[serde(default, deny_unknown_fields)]
    struct NopOpts {
        tag: Option<String>,
    }

    #[test]
    fn builtins_are_registered_and_canonicalize_expands() {
        let r = Registry::with_builtins();
        for n in ["dce", "cse", "infer-shapes", "fold-batchnorm", "fuse-gelu", "canonicalize"] {
            assert!(r.contains(n), "{n} missing");
        }
        let e = r.expand(&Pipeline::parse("canonicalize,dce").unwrap()).unwrap();
        assert_eq!(e.0.first().unwrap().name, "infer-shapes");
        assert_eq!(e.0.last().unwrap().name, "dce");
        assert!(e.0.iter().all(|s| r.pass(&s.name).is_some()));
        let passes = r.build_str("canonicalize,fold-batchnorm,cse{max=100}").unwrap();
        assert_eq!(passes.last().unwrap().name(), "cse");
    }

    #[test]
    fn unknown_names_list_the_known_ones() {
        let r = Registry::with_builtins();
        let e = r.build_str("dce,fold-everything").err().unwrap();
        let msg = e.to_string();
        assert!(msg.contains("unknown pass `fold-everything`"), "{msg}");
        assert!(msg.contains("cse") && msg.contains("canonicalize"), "{msg}");
    }

    #[test]
    fn bad_options_are_rejected() {
        let r = Registry::with_builtins();
        let e = r.build_str("dce{foo=1}").err().unwrap();
        assert!(matches!(e, PipelineError::Options { .. }), "{e}");
        let e = r.build_str("cse{max=lots}").err().unwrap();
        assert!(e.to_string().contains("cse"), "{e}");
        assert!(r.build_str("canonicalize{x=1}").is_err());
    }

    #[test]
    fn user_passes_and_pipelines_register() {
        let mut r = Registry::with_builtins();
        r.register("my-nop", "nothing", |o: NopOpts| Nop {
            tag: o.tag.unwrap_or_else(|| "my-nop".into()),
        })
        .unwrap();
        assert!(matches!(
            r.register("my-nop", "again", |_: NoOptions| Nop { tag: String::new() }),
            Err(PipelineError::Duplicate(_))
        ));
        assert!(r.register("Bad_Name", "x", |_: NoOptions| Nop { tag: String::new() }).is_err());
        r.register_pipeline("mine", "custom", "dce,my-nop{tag=t}").unwrap();
        let ps = r.build_str("mine").unwrap();
        assert_eq!(ps.iter().map(|p| p.name().to_string()).collect::<Vec<_>>(), ["dce", "t"]);
        assert!(r.register_pipeline("broken", "x", "nope").is_err());
        assert!(!r.contains("broken"));
        assert!(r.list_text().contains("my-nop"));
    }
}
