//! What the stack runner needs of `template.yaml`: each function's binary, timeout, memory,
//! reserved concurrency, environment and HTTP API routes (and whether it has a function URL),
//! and each DynamoDB table's keys and TTL attribute.
//!
//! The YAML is read with yaml-rust2's event parser rather than its document loader, because
//! the loader drops local tags, and CloudFormation's short forms (`!Ref`, `!Sub`, `!If`, ...)
//! are exactly local tags. Intrinsics are then evaluated the way CloudFormation would for one
//! stack: parameters from the caller (or their defaults), conditions, mappings, and a made-up
//! physical name for each resource.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

/// A YAML node, scalars kept as text (CloudFormation reads `15` and `"15"` alike).
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Null,
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(String, Node)>),
    /// A short-form intrinsic: `!Ref X` is `Tagged("Ref", Str("X"))`.
    Tagged(String, Box<Node>),
}

impl Node {
    pub fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Node::Map(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn path(&self, keys: &[&str]) -> Option<&Node> {
        keys.iter().try_fold(self, |node, key| node.get(key))
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Node::Str(s) => Some(s),
            _ => None,
        }
    }

    fn entries(&self) -> &[(String, Node)] {
        match self {
            Node::Map(entries) => entries,
            _ => &[],
        }
    }

    /// The long form `{"Fn::Sub": ..}` / `{"Ref": ..}` as its short form, so one evaluator
    /// serves both.
    fn intrinsic(&self) -> Option<(&str, &Node)> {
        match self {
            Node::Tagged(tag, arg) => Some((tag.as_str(), arg)),
            Node::Map(entries) if entries.len() == 1 => {
                let (key, arg) = &entries[0];
                if key == "Ref" || key == "Condition" {
                    Some((key.as_str(), arg))
                } else {
                    key.strip_prefix("Fn::")
                        .filter(|name| !name.starts_with("ForEach"))
                        .map(|name| (name, arg))
                }
            }
            _ => None,
        }
    }
}

/// Builds [`Node`]s from the parser's events.
#[derive(Default)]
struct Builder {
    /// Open collections; a map keeps its pending key (`None` while waiting for one).
    stack: Vec<(Open, Option<String>)>,
    root: Option<Node>,
    anchors: HashMap<usize, Node>,
    error: Option<String>,
}

enum Open {
    Seq(Vec<Node>, Option<String>, usize),
    Map(Vec<(String, Node)>, Option<String>, usize),
}

fn tag_name(tag: Option<yaml_rust2::parser::Tag>) -> Option<String> {
    // Only local tags (`!Ref`) are intrinsics; `!!str` and friends are plain YAML.
    tag.filter(|t| t.handle == "!").map(|t| t.suffix)
}

fn wrap(node: Node, tag: Option<String>) -> Node {
    match tag {
        Some(tag) => Node::Tagged(tag, Box::new(node)),
        None => node,
    }
}

impl Builder {
    fn push(&mut self, node: Node) {
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some((Open::Seq(items, ..), _)) => items.push(node),
            Some((Open::Map(entries, ..), key)) => match key.take() {
                None => match node {
                    Node::Str(k) => *key = Some(k),
                    Node::Null => *key = Some(String::new()),
                    other => {
                        self.error = Some(format!("a mapping key that is not text: {other:?}"))
                    }
                },
                Some(k) => entries.push((k, node)),
            },
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, event: Event, _mark: Marker) {
        match event {
            Event::Scalar(value, style, anchor, tag) => {
                let plain = matches!(style, yaml_rust2::scanner::TScalarStyle::Plain);
                let tag = tag_name(tag);
                let node = if plain && tag.is_none() && matches!(value.as_str(), "" | "~" | "null")
                {
                    Node::Null
                } else {
                    wrap(Node::Str(value), tag)
                };
                if anchor > 0 {
                    self.anchors.insert(anchor, node.clone());
                }
                self.push(node);
            }
            Event::SequenceStart(anchor, tag) => self
                .stack
                .push((Open::Seq(Vec::new(), tag_name(tag), anchor), None)),
            Event::MappingStart(anchor, tag) => self
                .stack
                .push((Open::Map(Vec::new(), tag_name(tag), anchor), None)),
            Event::SequenceEnd | Event::MappingEnd => {
                let Some((open, _)) = self.stack.pop() else {
                    return;
                };
                let (node, anchor) = match open {
                    Open::Seq(items, tag, anchor) => (wrap(Node::Seq(items), tag), anchor),
                    Open::Map(entries, tag, anchor) => (wrap(Node::Map(entries), tag), anchor),
                };
                if anchor > 0 {
                    self.anchors.insert(anchor, node.clone());
                }
                self.push(node);
            }
            Event::Alias(anchor) => {
                let node = self.anchors.get(&anchor).cloned().unwrap_or(Node::Null);
                self.push(node);
            }
            _ => {}
        }
    }
}

/// Parses YAML text into a [`Node`] tree, local tags kept.
pub fn parse_yaml(text: &str) -> Result<Node, String> {
    let mut builder = Builder::default();
    Parser::new_from_str(text)
        .load(&mut builder, false)
        .map_err(|e| format!("template is not YAML: {e}"))?;
    if let Some(error) = builder.error {
        return Err(error);
    }
    builder.root.ok_or_else(|| "the template is empty".into())
}

/// One HTTP API route: `POST /v1/msisdn/discover`, or `ANY $default`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Route {
    /// Upper case, or `ANY`.
    pub method: String,
    /// A path, or `$default`.
    pub path: String,
}

impl std::fmt::Display for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path == "$default" {
            f.write_str("$default")
        } else {
            write!(f, "{} {}", self.method, self.path)
        }
    }
}

#[derive(Debug, Clone)]
pub struct FunctionDef {
    pub logical_id: String,
    /// The cargo binary (Metadata.BuildProperties.Binary): `target/lambda/<binary>/bootstrap`.
    pub binary: String,
    pub timeout_secs: u64,
    pub memory_mb: u32,
    pub reserved_concurrency: Option<usize>,
    /// Globals' variables, then the function's own (which win), with AWS::NoValue ones left out.
    pub env: Vec<(String, String)>,
    pub routes: Vec<Route>,
    pub function_url: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableDef {
    pub logical_id: String,
    /// The name this stack gives the table (what `!Ref` of it resolves to).
    pub name: String,
    /// (attribute, HASH or RANGE)
    pub key_schema: Vec<(String, String)>,
    /// (attribute, S, N or B)
    pub attributes: Vec<(String, String)>,
    pub ttl_attribute: Option<String>,
}

/// The HTTP API's CORS configuration: API Gateway then answers preflights itself and sets
/// the CORS headers of every answer (the functions' own are replaced).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cors {
    pub allow_origins: Vec<String>,
    pub allow_methods: Vec<String>,
    pub allow_headers: Vec<String>,
    pub expose_headers: Vec<String>,
    pub max_age: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct Template {
    pub functions: Vec<FunctionDef>,
    pub tables: Vec<TableDef>,
    /// `None` where the API has no CorsConfiguration (or it is AWS::NoValue for this stack).
    pub cors: Option<Cors>,
}

impl Template {
    pub fn function(&self, binary: &str) -> Option<&FunctionDef> {
        self.functions.iter().find(|f| f.binary == binary)
    }
}

/// How intrinsics resolve for one stack.
pub struct Stack {
    /// The stack's name: resources are named `<stack>-<LogicalId>`.
    pub name: String,
    pub region: String,
    pub account: String,
    /// Parameter values given by the caller; the others take their defaults.
    pub parameters: HashMap<String, String>,
    /// The value a `{{resolve:secretsmanager:<id>:SecretString}}` reference resolves to, by
    /// the secret's physical id (what `!Ref` of the secret resolves to).
    pub secret_strings: HashMap<String, String>,
}

impl Stack {
    /// What `!Ref` of a resource gives: a table's name, a secret's ARN, a resource's name.
    pub fn physical_id(&self, logical_id: &str, resource_type: &str) -> String {
        let name = format!("{}-{logical_id}", self.name);
        match resource_type {
            "AWS::SecretsManager::Secret" => format!(
                "arn:aws:secretsmanager:{}:{}:secret:{name}",
                self.region, self.account
            ),
            _ => name,
        }
    }
}

/// Evaluates intrinsics against one stack.
struct Eval<'a> {
    root: &'a Node,
    stack: &'a Stack,
}

/// `None`: `AWS::NoValue` (the property is left out).
type Value = Option<Node>;

impl Eval<'_> {
    fn parameter(&self, name: &str) -> Option<String> {
        if let Some(v) = self.stack.parameters.get(name) {
            return Some(v.clone());
        }
        self.root
            .path(&["Parameters", name, "Default"])
            .and_then(Node::as_str)
            .map(str::to_owned)
    }

    fn reference(&self, name: &str) -> Result<Value, String> {
        Ok(Some(Node::Str(match name {
            "AWS::NoValue" => return Ok(None),
            "AWS::Region" => self.stack.region.clone(),
            "AWS::AccountId" => self.stack.account.clone(),
            "AWS::StackName" => self.stack.name.clone(),
            "AWS::Partition" => "aws".into(),
            "AWS::URLSuffix" => "amazonaws.com".into(),
            _ => {
                if self.root.path(&["Parameters", name]).is_some() {
                    self.parameter(name)
                        .ok_or_else(|| format!("parameter {name} has no value and no default"))?
                } else if let Some(resource) = self.root.path(&["Resources", name]) {
                    let kind = resource.get("Type").and_then(Node::as_str).unwrap_or("");
                    self.stack.physical_id(name, kind)
                } else {
                    return Err(format!("!Ref {name}: no such parameter or resource"));
                }
            }
        })))
    }

    fn condition(&self, name: &str) -> Result<bool, String> {
        let node = self
            .root
            .path(&["Conditions", name])
            .ok_or_else(|| format!("no condition {name}"))?;
        self.truth(node)
    }

    fn truth(&self, node: &Node) -> Result<bool, String> {
        match self.eval(node)? {
            Some(Node::Str(s)) if s == "true" => Ok(true),
            Some(Node::Str(s)) if s == "false" => Ok(false),
            other => Err(format!("not a condition: {other:?}")),
        }
    }

    fn string(&self, node: &Node) -> Result<String, String> {
        match self.eval(node)? {
            Some(Node::Str(s)) => Ok(s),
            Some(Node::Null) | None => Ok(String::new()),
            other => Err(format!("expected text, found {other:?}")),
        }
    }

    fn list<'n>(&self, node: &'n Node, n: usize, what: &str) -> Result<&'n [Node], String> {
        match node {
            Node::Seq(items) if items.len() == n => Ok(items),
            _ => Err(format!("{what} takes a list of {n}")),
        }
    }

    fn eval(&self, node: &Node) -> Result<Value, String> {
        let Some((name, arg)) = node.intrinsic() else {
            return Ok(Some(match node {
                Node::Seq(items) => Node::Seq(
                    items
                        .iter()
                        .map(|i| self.eval(i))
                        .filter_map(Result::transpose)
                        .collect::<Result<_, _>>()?,
                ),
                Node::Map(entries) => {
                    let mut out = Vec::new();
                    for (k, v) in entries {
                        if let Some(v) = self.eval(v)? {
                            out.push((k.clone(), v));
                        }
                    }
                    Node::Map(out)
                }
                other => other.clone(),
            }));
        };
        let bool_node = |b: bool| Ok(Some(Node::Str(b.to_string())));
        match name {
            "Ref" => self.reference(arg.as_str().ok_or("!Ref takes a name")?),
            "Condition" => {
                bool_node(self.condition(arg.as_str().ok_or("!Condition takes a name")?)?)
            }
            "Equals" => {
                let [a, b] = self.list(arg, 2, "!Equals")? else {
                    unreachable!()
                };
                bool_node(self.string(a)? == self.string(b)?)
            }
            "Not" => {
                let [a] = self.list(arg, 1, "!Not")? else {
                    unreachable!()
                };
                bool_node(!self.truth(a)?)
            }
            "Or" | "And" => {
                let Node::Seq(items) = arg else {
                    return Err(format!("!{name} takes a list"));
                };
                let values = items
                    .iter()
                    .map(|i| self.truth(i))
                    .collect::<Result<Vec<_>, _>>()?;
                bool_node(if name == "Or" {
                    values.iter().any(|v| *v)
                } else {
                    values.iter().all(|v| *v)
                })
            }
            "If" => {
                let [cond, yes, no] = self.list(arg, 3, "!If")? else {
                    unreachable!()
                };
                let cond = cond.as_str().ok_or("!If's condition is a name")?;
                self.eval(if self.condition(cond)? { yes } else { no })
            }
            "FindInMap" => {
                let [map, top, second] = self.list(arg, 3, "!FindInMap")? else {
                    unreachable!()
                };
                let keys = [self.string(map)?, self.string(top)?, self.string(second)?];
                let found = self
                    .root
                    .path(&["Mappings", &keys[0], &keys[1], &keys[2]])
                    .ok_or_else(|| format!("!FindInMap {keys:?}: not in Mappings"))?;
                self.eval(found)
            }
            "Sub" => {
                let (text, vars) = match arg {
                    Node::Seq(items) if items.len() == 2 => (&items[0], Some(&items[1])),
                    other => (other, None),
                };
                let text = text.as_str().ok_or("!Sub takes text")?;
                self.substitute(text, vars).map(|s| Some(Node::Str(s)))
            }
            "GetAtt" => {
                let target = match arg {
                    Node::Str(s) => s.clone(),
                    Node::Seq(items) => items
                        .iter()
                        .map(|i| self.string(i))
                        .collect::<Result<Vec<_>, _>>()?
                        .join("."),
                    _ => return Err("!GetAtt takes Resource.Attribute".into()),
                };
                let (resource, attribute) = target.split_once('.').unwrap_or((&target, ""));
                Ok(Some(Node::Str(format!(
                    "arn:aws:local:{}:{}:{}/{resource}.{attribute}",
                    self.stack.region, self.stack.account, self.stack.name
                ))))
            }
            "Split" => {
                let [sep, text] = self.list(arg, 2, "!Split")? else {
                    unreachable!()
                };
                let sep = self.string(sep)?;
                Ok(Some(Node::Seq(
                    self.string(text)?
                        .split(sep.as_str())
                        .map(|s| Node::Str(s.to_owned()))
                        .collect(),
                )))
            }
            "Join" => {
                let [sep, items] = self.list(arg, 2, "!Join")? else {
                    unreachable!()
                };
                let sep = self.string(sep)?;
                let Some(Node::Seq(items)) = self.eval(items)? else {
                    return Err("!Join takes a list".into());
                };
                let parts = items
                    .iter()
                    .map(|i| self.string(i))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(Some(Node::Str(parts.join(&sep))))
            }
            other => Err(format!("intrinsic function {other} is not supported")),
        }
    }

    /// `${Name}`, `${Resource.Attr}` and `${!Literal}`, with the optional variable map.
    fn substitute(&self, text: &str, vars: Option<&Node>) -> Result<String, String> {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after
                .find('}')
                .ok_or_else(|| format!("!Sub {text:?}: unclosed ${{"))?;
            let name = &after[..end];
            if let Some(literal) = name.strip_prefix('!') {
                out.push_str("${");
                out.push_str(literal);
                out.push('}');
            } else if let Some(value) = vars.and_then(|v| v.get(name)) {
                out.push_str(&self.string(value)?);
            } else if name.contains('.') {
                out.push_str(&self.string(&Node::Tagged(
                    "GetAtt".into(),
                    Box::new(Node::Str(name.into())),
                ))?);
            } else {
                out.push_str(&self.string(&Node::Tagged(
                    "Ref".into(),
                    Box::new(Node::Str(name.into())),
                ))?);
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(self.resolve_dynamic_references(out))
    }

    /// `{{resolve:secretsmanager:<id>:SecretString}}`, from the secrets the runner made.
    fn resolve_dynamic_references(&self, mut text: String) -> String {
        for (id, value) in &self.stack.secret_strings {
            let reference = format!("{{{{resolve:secretsmanager:{id}:SecretString}}}}");
            text = text.replace(&reference, value);
        }
        text
    }
}

/// Reads the template for one stack.
pub fn load(text: &str, stack: &Stack) -> Result<Template, String> {
    let root = parse_yaml(text)?;
    let eval = Eval { root: &root, stack };
    let resources = root
        .get("Resources")
        .ok_or("the template has no Resources")?;
    let globals = root.path(&["Globals", "Function"]);
    let mut functions = Vec::new();
    let mut tables = Vec::new();
    let mut cors = None;
    for (logical_id, resource) in resources.entries() {
        // A resource whose condition is false does not exist in this stack.
        if let Some(cond) = resource.get("Condition").and_then(Node::as_str)
            && !eval.condition(cond)?
        {
            continue;
        }
        let props = resource.get("Properties").cloned().unwrap_or(Node::Null);
        let context = |e: String| format!("{logical_id}: {e}");
        match resource.get("Type").and_then(Node::as_str) {
            Some("AWS::Serverless::Function") => {
                let Some(binary) = resource
                    .path(&["Metadata", "BuildProperties", "Binary"])
                    .and_then(Node::as_str)
                else {
                    continue; // not one of the cargo-lambda functions
                };
                let setting = |key: &str| -> Result<Option<String>, String> {
                    match props.get(key).or_else(|| globals.and_then(|g| g.get(key))) {
                        Some(node) => eval.string(node).map(Some),
                        None => Ok(None),
                    }
                };
                let number = |key: &str, default: u64| -> Result<u64, String> {
                    setting(key)?.map_or(Ok(default), |v| {
                        v.parse()
                            .map_err(|_| format!("{key} {v:?} is not a number"))
                    })
                };
                let mut env: Vec<(String, String)> = Vec::new();
                for source in [globals, Some(&props)].into_iter().flatten() {
                    let vars = source.path(&["Environment", "Variables"]);
                    for (k, v) in vars.map(Node::entries).unwrap_or_default() {
                        let Some(value) = eval.eval(v).map_err(context)? else {
                            continue;
                        };
                        let value = match value {
                            Node::Str(s) => s,
                            Node::Null => String::new(),
                            other => return Err(context(format!("{k} is not text: {other:?}"))),
                        };
                        env.retain(|(name, _)| name != k);
                        env.push((k.clone(), value));
                    }
                }
                let mut routes = Vec::new();
                let mut function_url = props.get("FunctionUrlConfig").is_some();
                for (_, event) in props.get("Events").map(Node::entries).unwrap_or_default() {
                    match event.get("Type").and_then(Node::as_str) {
                        Some("HttpApi") => {
                            let p = event.get("Properties");
                            let field = |k| -> Result<Option<String>, String> {
                                p.and_then(|p| p.get(k)).map(|n| eval.string(n)).transpose()
                            };
                            // SAM's defaults: no Path/Method is the API's $default route.
                            let method = field("Method")
                                .map_err(context)?
                                .unwrap_or_else(|| "ANY".into())
                                .to_ascii_uppercase();
                            let path = field("Path")
                                .map_err(context)?
                                .unwrap_or_else(|| "$default".into());
                            let method = if method == "X-AMAZON-APIGATEWAY-ANY-METHOD" {
                                "ANY".into()
                            } else {
                                method
                            };
                            routes.push(Route { method, path });
                        }
                        Some("FunctionUrl") => function_url = true,
                        _ => {}
                    }
                }
                functions.push(FunctionDef {
                    logical_id: logical_id.clone(),
                    binary: binary.to_owned(),
                    timeout_secs: number("Timeout", 3).map_err(context)?,
                    memory_mb: number("MemorySize", 128).map_err(context)? as u32,
                    reserved_concurrency: setting("ReservedConcurrentExecutions")
                        .map_err(context)?
                        .map(|v| {
                            v.parse()
                                .map_err(|_| context(format!("{v:?}: not a number")))
                        })
                        .transpose()?,
                    env,
                    routes,
                    function_url,
                });
            }
            Some("AWS::Serverless::HttpApi") => {
                let Some(config) = props
                    .get("CorsConfiguration")
                    .map(|n| eval.eval(n))
                    .transpose()
                    .map_err(context)?
                    .flatten()
                else {
                    continue;
                };
                let list = |key: &str| -> Vec<String> {
                    match config.get(key) {
                        Some(Node::Seq(items)) => items
                            .iter()
                            .filter_map(Node::as_str)
                            .map(str::to_owned)
                            .collect(),
                        Some(Node::Str(one)) => vec![one.clone()],
                        _ => Vec::new(),
                    }
                };
                cors = Some(Cors {
                    allow_origins: list("AllowOrigins"),
                    allow_methods: list("AllowMethods"),
                    allow_headers: list("AllowHeaders"),
                    expose_headers: list("ExposeHeaders"),
                    max_age: config
                        .get("MaxAge")
                        .and_then(Node::as_str)
                        .and_then(|v| v.parse().ok()),
                });
            }
            Some("AWS::DynamoDB::Table") => {
                let pairs =
                    |key: &str, a: &str, b: &str| -> Result<Vec<(String, String)>, String> {
                        let Some(Node::Seq(items)) =
                            props.get(key).map(|n| eval.eval(n)).transpose()?.flatten()
                        else {
                            return Err(format!("{key} is not a list"));
                        };
                        items
                            .iter()
                            .map(|item| {
                                let get = |k| item.get(k).and_then(Node::as_str).map(str::to_owned);
                                get(a)
                                    .zip(get(b))
                                    .ok_or_else(|| format!("{key}: needs {a} and {b}"))
                            })
                            .collect()
                    };
                let ttl = props
                    .get("TimeToLiveSpecification")
                    .map(|n| eval.eval(n))
                    .transpose()
                    .map_err(context)?
                    .flatten();
                let ttl_attribute = ttl
                    .filter(|t| t.get("Enabled").and_then(Node::as_str) == Some("true"))
                    .and_then(|t| {
                        t.get("AttributeName")
                            .and_then(Node::as_str)
                            .map(str::to_owned)
                    });
                tables.push(TableDef {
                    logical_id: logical_id.clone(),
                    name: props
                        .get("TableName")
                        .map(|n| eval.string(n))
                        .transpose()
                        .map_err(context)?
                        .unwrap_or_else(|| stack.physical_id(logical_id, "AWS::DynamoDB::Table")),
                    key_schema: pairs("KeySchema", "AttributeName", "KeyType").map_err(context)?,
                    attributes: pairs("AttributeDefinitions", "AttributeName", "AttributeType")
                        .map_err(context)?,
                    ttl_attribute,
                });
            }
            _ => {}
        }
    }
    Ok(Template {
        functions,
        tables,
        cors,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stack() -> Stack {
        Stack {
            name: "s".into(),
            region: "us-east-1".into(),
            account: "000000000000".into(),
            parameters: HashMap::from([("Stage".into(), "load-stage".into())]),
            secret_strings: HashMap::from([(
                "arn:aws:secretsmanager:us-east-1:000000000000:secret:s-Tok".into(),
                "t0ken".into(),
            )]),
        }
    }

    const SMALL: &str = r#"
Parameters:
  Stage: {Type: String}
  Level: {Type: String, Default: info}
Conditions:
  IsProd: !Or [!Equals [!Ref Stage, production], !Equals [!Ref Stage, real-stage]]
  HasFake: !Not [!Condition IsProd]
Mappings:
  M: {load-stage: {Rate: 1000}, production: {Rate: 200}}
Globals:
  Function:
    Timeout: 5
    Environment:
      Variables:
        STAGE: !Ref Stage
        TABLE: !Ref T
        LEVEL: !Ref Level
Resources:
  Tok:
    Type: AWS::SecretsManager::Secret
    Condition: HasFake
  F:
    Type: AWS::Serverless::Function
    Metadata: {BuildProperties: {Binary: f}}
    Properties:
      Timeout: 9
      ReservedConcurrentExecutions: 3
      FunctionUrlConfig: {AuthType: NONE}
      Environment:
        Variables:
          RATE: !FindInMap [M, !Ref Stage, Rate]
          TOKEN: !If [HasFake, !Sub "{{resolve:secretsmanager:${Tok}:SecretString}}", !Ref AWS::NoValue]
          GONE: !If [IsProd, x, !Ref AWS::NoValue]
          URL: !Sub "https://${AWS::Region}/${!Literal}/${Level}"
      Events:
        A: {Type: HttpApi, Properties: {Method: post, Path: /a}}
        D: {Type: HttpApi, Properties: {Method: ANY, Path: $default}}
  T:
    Type: AWS::DynamoDB::Table
    Properties:
      AttributeDefinitions: [{AttributeName: pk, AttributeType: S}]
      KeySchema: [{AttributeName: pk, KeyType: HASH}]
      TimeToLiveSpecification: {AttributeName: expires_at, Enabled: true}
"#;

    #[test]
    fn intrinsics_resolve_for_the_stack() {
        let t = load(SMALL, &stack()).unwrap();
        let f = t.function("f").unwrap();
        let env: HashMap<_, _> = f.env.iter().cloned().collect();
        assert_eq!(env["STAGE"], "load-stage");
        assert_eq!(env["TABLE"], "s-T");
        assert_eq!(env["LEVEL"], "info");
        assert_eq!(env["RATE"], "1000");
        assert_eq!(env["TOKEN"], "t0ken");
        assert_eq!(env["URL"], "https://us-east-1/${Literal}/info");
        assert!(!env.contains_key("GONE"), "AWS::NoValue drops the variable");
        assert_eq!((f.timeout_secs, f.reserved_concurrency), (9, Some(3)));
        assert!(f.function_url);
        let routes: Vec<String> = f.routes.iter().map(ToString::to_string).collect();
        assert_eq!(routes, ["POST /a", "$default"]);
        assert_eq!(
            t.tables,
            [TableDef {
                logical_id: "T".into(),
                name: "s-T".into(),
                key_schema: vec![("pk".into(), "HASH".into())],
                attributes: vec![("pk".into(), "S".into())],
                ttl_attribute: Some("expires_at".into()),
            }]
        );
    }

    #[test]
    fn a_false_condition_removes_the_resource_and_unknown_refs_fail() {
        let mut prod = stack();
        prod.parameters.insert("Stage".into(), "production".into());
        // Tok is gone in production, so the function's !If takes the NoValue branch.
        let t = load(SMALL, &prod).unwrap();
        assert!(
            t.function("f")
                .unwrap()
                .env
                .iter()
                .all(|(k, _)| k != "TOKEN")
        );
        let broken = SMALL.replace("!Ref T", "!Ref Nope");
        assert!(load(&broken, &stack()).unwrap_err().contains("Nope"));
    }

    #[test]
    fn the_real_template_has_four_functions_and_two_tables() {
        let text = include_str!("../../../template.yaml");
        let mut stack = stack();
        for (k, v) in [("PublicUrl", "http://127.0.0.1:1"), ("Issuer", "127.0.0.1")] {
            stack.parameters.insert(k.into(), v.into());
        }
        let t = load(text, &stack).unwrap();
        let mut binaries: Vec<_> = t.functions.iter().map(|f| f.binary.as_str()).collect();
        binaries.sort();
        assert_eq!(
            binaries,
            [
                "inbound-sms",
                "sign-certificate",
                "start-verification",
                "verify-code"
            ]
        );
        let routes: usize = t.functions.iter().map(|f| f.routes.len()).sum();
        // 21 method-and-path routes and the $default fallback.
        assert_eq!(routes, 22);
        assert!(t.function("inbound-sms").unwrap().function_url);
        assert_eq!(t.tables.len(), 2);
        assert!(
            t.tables
                .iter()
                .all(|t| t.ttl_attribute.as_deref() == Some("expires_at"))
        );
        let env: HashMap<_, _> = t
            .function("inbound-sms")
            .unwrap()
            .env
            .iter()
            .cloned()
            .collect();
        assert_eq!(env["MOBILEID_STORE"], "dynamodb");
        assert_eq!(env["MOBILEID_SESSIONS_TABLE"], "s-SessionsTable");
        // load-stage has CORS (its stage row's origins are "*"); production has none.
        let cors = t.cors.expect("load-stage's API has CORS");
        assert_eq!(cors.allow_origins, ["*"]);
        assert_eq!(cors.allow_methods, ["GET", "POST"]);
        assert_eq!(cors.max_age, Some(600));
        stack.parameters.insert("Stage".into(), "production".into());
        stack
            .parameters
            .insert("NanpMtSender".into(), "+12025550300".into());
        assert!(load(text, &stack).unwrap().cors.is_none());
    }
}
