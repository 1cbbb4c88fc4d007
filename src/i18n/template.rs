//! `t(key, **args)`: the template side of translation.
//!
//! `{{ t("login-title") }}`, `{{ t("home-signed-in-as", name=user.name) }}`, or `{{ t(msg) }}`
//! for a `Msg` handed over by Rust code (`none`/undefined give `none`, so optional notices pass
//! through). The locale is the `locale` variable of the render context (macros see it too).
//!
//! In HTML templates the catalogue text is trusted like template source, and only the arguments
//! are escaped, exactly as `{{ … }}` did when the text was written in the template.

use std::borrow::Cow;
use std::collections::HashMap;

use fluent_templates::fluent_bundle::FluentValue;
use minijinja::value::{Kwargs, ValueKind};
use minijinja::{AutoEscape, Error, ErrorKind, HtmlEscape, State, Value};

use super::{lookup, Locale};

pub fn t(state: &State, message: Value, kwargs: Kwargs) -> Result<Value, Error> {
    if message.is_undefined() || message.is_none() {
        return Ok(Value::from(()));
    }
    let html = matches!(state.auto_escape(), AutoEscape::Html);
    let locale = state
        .lookup("locale")
        .and_then(|v| v.as_str().and_then(Locale::from_tag))
        .unwrap_or(Locale::En);
    let mut args: HashMap<Cow<'static, str>, FluentValue<'static>> = HashMap::new();
    let key = match message.as_str() {
        Some(key) => key.to_string(),
        None => {
            let key = message.get_attr("key")?;
            let key = key.as_str().ok_or_else(|| Error::new(ErrorKind::InvalidOperation, "t() needs a key or a message"))?.to_string();
            let given = message.get_attr("args")?;
            if given.kind() == ValueKind::Map {
                for name in given.try_iter()? {
                    let value = given.get_item(&name)?;
                    args.insert(Cow::Owned(name.to_string()), fluent_value(&value, html));
                }
            }
            key
        }
    };
    for name in kwargs.args() {
        let value: Value = kwargs.get(name)?;
        args.insert(Cow::Owned(name.to_string()), fluent_value(&value, html));
    }
    kwargs.assert_all_used()?;
    let text = lookup(locale, &key, &args)
        .ok_or_else(|| Error::new(ErrorKind::InvalidOperation, format!("no translation for {key:?}")))?;
    Ok(if html { Value::from_safe_string(text) } else { Value::from(text) })
}

/// Numbers stay numbers (plural selection); anything else becomes text, escaped for HTML
/// unless it is already safe markup.
fn fluent_value(value: &Value, html: bool) -> FluentValue<'static> {
    if let Some(n) = value.as_i64() {
        return FluentValue::from(n);
    }
    if value.kind() == ValueKind::Number {
        if let Ok(f) = f64::try_from(value.clone()) {
            return FluentValue::from(f);
        }
    }
    let text = if value.is_none() || value.is_undefined() { String::new() } else { value.to_string() };
    if html && !value.is_safe() {
        FluentValue::from(HtmlEscape(&text).to_string())
    } else {
        FluentValue::from(text)
    }
}
