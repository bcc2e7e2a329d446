//! Components with declared dependencies, started in an order a policy picks.
//!
//! A component has a name and the names of the components it depends on. The
//! dependency order starts each one only after every component it depends on
//! reported ready (not merely spawned), and stops them in reverse. A cycle or
//! a dependency on a component that does not exist is a configuration error
//! that names it.

use std::collections::BTreeMap;
use std::fmt;

/// A component's name and what it depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentSpec {
    /// The component's name.
    pub name: &'static str,
    /// The components it uses, which must be ready before it starts.
    pub depends_on: &'static [&'static str],
}

/// How a set of components is started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartPolicy {
    /// All at once, each on its own (the init-ordering bug).
    Parallel,
    /// One by one in dependency order, each after its dependencies are ready.
    DependencyOrder,
}

/// A set of components that cannot be ordered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ComponentError {
    /// `component` depends on `missing`, which is not in the set.
    MissingDependency {
        /// The component that declares the dependency.
        component: &'static str,
        /// The dependency that does not exist.
        missing: &'static str,
    },
    /// These components depend on each other in a cycle.
    Cycle(Vec<&'static str>),
}

impl fmt::Display for ComponentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ComponentError::MissingDependency { component, missing } => write!(
                f,
                "component `{component}` depends on `{missing}`, which does not exist"
            ),
            ComponentError::Cycle(names) => {
                write!(
                    f,
                    "components depend on each other in a cycle: {}",
                    names.join(" -> ")
                )
            }
        }
    }
}

impl std::error::Error for ComponentError {}

/// The names in an order where each comes after everything it depends on
/// (ties in declaration order).
pub fn start_order(specs: &[ComponentSpec]) -> Result<Vec<&'static str>, ComponentError> {
    let index: BTreeMap<&str, &ComponentSpec> =
        specs.iter().map(|spec| (spec.name, spec)).collect();
    for spec in specs {
        if let Some(missing) = spec
            .depends_on
            .iter()
            .find(|name| !index.contains_key(**name))
        {
            return Err(ComponentError::MissingDependency {
                component: spec.name,
                missing,
            });
        }
    }
    let mut order = Vec::new();
    let mut state: BTreeMap<&str, bool> = BTreeMap::new(); // false: visiting, true: done
    for spec in specs {
        visit(spec, &index, &mut state, &mut order, &mut Vec::new())?;
    }
    Ok(order)
}

fn visit(
    spec: &ComponentSpec,
    index: &BTreeMap<&str, &ComponentSpec>,
    state: &mut BTreeMap<&'static str, bool>,
    order: &mut Vec<&'static str>,
    path: &mut Vec<&'static str>,
) -> Result<(), ComponentError> {
    match state.get(spec.name) {
        Some(true) => return Ok(()),
        Some(false) => {
            let start = path.iter().position(|name| *name == spec.name).unwrap_or(0);
            let mut cycle = path[start..].to_vec();
            cycle.push(spec.name);
            return Err(ComponentError::Cycle(cycle));
        }
        None => {}
    }
    state.insert(spec.name, false);
    path.push(spec.name);
    for dependency in spec.depends_on {
        visit(index[dependency], index, state, order, path)?;
    }
    path.pop();
    state.insert(spec.name, true);
    order.push(spec.name);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn spec(name: &'static str, depends_on: &'static [&'static str]) -> ComponentSpec {
        ComponentSpec { name, depends_on }
    }

    #[test]
    fn dependencies_come_first() {
        let specs = [
            spec("raft", &["http"]),
            spec("http", &[]),
            spec("api", &["raft", "http"]),
        ];
        assert_eq!(start_order(&specs).unwrap(), ["http", "raft", "api"]);
    }

    #[test]
    fn a_missing_dependency_is_named() {
        let specs = [spec("raft", &["http"])];
        assert_eq!(
            start_order(&specs).unwrap_err().to_string(),
            "component `raft` depends on `http`, which does not exist"
        );
    }

    #[test]
    fn a_cycle_is_named() {
        let specs = [spec("a", &["b"]), spec("b", &["c"]), spec("c", &["a"])];
        assert_eq!(
            start_order(&specs).unwrap_err(),
            ComponentError::Cycle(vec!["a", "b", "c", "a"])
        );
    }
}
