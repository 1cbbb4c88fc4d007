//! `t(key, **args)`: the template side of translation.
//!
//! `{{ t("login-title") }}`, `{{ t("home-signed-in-as", name=user.name) }}`, or `{{ t(msg) }}`
//! for a `Msg` handed over by Rust code. `none` or undefined give undefined (prints nothing,
//! tests false), so optional notices pass straight through. The locale is the `locale` variable of the render context (macros see it too).
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
        return Ok(Value::UNDEFINED);
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
            let key = key
                .as_str()
                .ok_or_else(|| {
                    Error::new(ErrorKind::InvalidOperation, "t() needs a key or a message")
                })?
                .to_string();
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
    let text = lookup(locale, &key, &args).ok_or_else(|| {
        Error::new(
            ErrorKind::InvalidOperation,
            format!("no translation for {key:?}"),
        )
    })?;
    Ok(if html {
        Value::from_safe_string(text)
    } else {
        Value::from(text)
    })
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
    let text = if value.is_none() || value.is_undefined() {
        String::new()
    } else {
        value.to_string()
    };
    if html && !value.is_safe() {
        FluentValue::from(HtmlEscape(&text).to_string())
    } else {
        FluentValue::from(text)
    }
}

#[cfg(test)]
mod tests {
    use minijinja::{AutoEscape, Environment};
    use serde_json::json;

    use crate::i18n::Msg;

    fn render(name: &str, source: &str, ctx: serde_json::Value) -> String {
        let mut env = Environment::new();
        env.add_function("t", super::t);
        env.set_auto_escape_callback(|n| {
            if n.ends_with(".html") {
                AutoEscape::Html
            } else {
                AutoEscape::None
            }
        });
        env.add_template_owned(name.to_string(), source.to_string())
            .unwrap();
        env.get_template(name)
            .unwrap()
            .render(minijinja::Value::from(minijinja::value::Serde(&ctx)))
            .unwrap()
    }

    #[test]
    fn messages_from_rust_and_keyword_arguments_are_translated_and_escaped() {
        let msg = Msg::new("changed-message").with("email", "<a@b.c>");
        let ctx = json!({ "locale": "de", "msg": msg, "who": "Ada & Co" });
        let html = render(
            "x.html",
            r#"{{ t(msg) }}|{{ t("signed-in-as", who=who) }}|{{ t(none) }}|{{ t(missing) }}"#,
            ctx.clone(),
        );
        assert_eq!(
            html,
            "Ihre E-Mail-Adresse lautet jetzt &lt;a@b.c&gt;.|Angemeldet als Ada &amp; Co||"
        );
        let text = render(
            "x.txt",
            r#"{{ t(msg) }}|{{ t("signed-in-as", who=who) }}"#,
            ctx,
        );
        assert_eq!(
            text,
            "Ihre E-Mail-Adresse lautet jetzt <a@b.c>.|Angemeldet als Ada & Co"
        );
    }

    #[test]
    fn the_locale_comes_from_the_context_and_defaults_to_english() {
        assert_eq!(
            render(
                "x.html",
                r#"{{ t("nav-sign-in") }}"#,
                json!({ "locale": "fr-CA" })
            ),
            "Se connecter"
        );
        assert_eq!(
            render("x.html", r#"{{ t("nav-sign-in") }}"#, json!({})),
            "Sign in"
        );
    }

    #[test]
    fn an_unknown_key_is_a_render_error() {
        let mut env = Environment::new();
        env.add_function("t", super::t);
        assert!(env
            .render_str(r#"{{ t("no-such-key") }}"#, minijinja::Value::from(()))
            .is_err());
    }
}
