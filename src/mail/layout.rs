//! The one look of Atelier's emails: a title, a few paragraphs and an
//! optional button, as plain text and as HTML that reads well in phone mail
//! apps (one column, inline styles, no images to block). Everything shown
//! is escaped: names and messages come from users.

use super::Email;

pub struct Layout<'a> {
    pub title: &'a str,
    pub paragraphs: &'a [String],
    /// Button label and link (a deep link opens the app).
    pub action: Option<(&'a str, &'a str)>,
}

impl Layout<'_> {
    pub fn email(&self, to: &str, subject: &str) -> Email {
        Email {
            to: to.to_string(),
            subject: subject.to_string(),
            body: self.text(),
            html: Some(self.html()),
        }
    }

    pub fn text(&self) -> String {
        let mut text = String::new();
        for paragraph in self.paragraphs {
            text.push_str(paragraph);
            text.push_str("\n\n");
        }
        if let Some((label, link)) = self.action {
            text.push_str(&format!("{label}: {link}\n\n"));
        }
        text.push_str("Atelier\n");
        text
    }

    pub fn html(&self) -> String {
        let mut body = String::new();
        for paragraph in self.paragraphs {
            body.push_str(&format!(
                "<p style=\"margin:0 0 16px;font-size:16px;line-height:24px\">{}</p>",
                escape(paragraph)
            ));
        }
        if let Some((label, link)) = self.action {
            body.push_str(&format!(
                "<p style=\"margin:24px 0\"><a href=\"{}\" style=\"background:#3b2f2f;color:#ffffff;padding:12px 20px;border-radius:6px;text-decoration:none;font-weight:bold\">{}</a></p>",
                escape(link),
                escape(label)
            ));
        }
        format!(
            "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\"><title>{title}</title></head>\
<body style=\"margin:0;padding:0;background:#f6f3ef\"><div style=\"max-width:560px;margin:0 auto;padding:24px;font-family:Helvetica,Arial,sans-serif;color:#222\">\
<h1 style=\"font-size:22px;margin:0 0 20px\">{title}</h1>{body}\
<p style=\"margin-top:32px;font-size:12px;color:#777\">Atelier · You can choose which emails you get in the app's notification settings.</p></div></body></html>",
            title = escape(self.title),
        )
    }
}

pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_text_is_escaped_in_html_and_kept_in_text() {
        let paragraphs = vec!["<script>alert('x')</script> & co".to_string()];
        let page = Layout {
            title: "Hi <b>",
            paragraphs: &paragraphs,
            action: Some(("Open", "atelier://orders/1")),
        };
        let html = page.html();
        assert!(!html.contains("<script>"));
        assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; co"));
        assert!(html.contains("href=\"atelier://orders/1\""));
        assert!(page.text().contains("<script>alert('x')</script> & co"));
        assert!(page.text().contains("Open: atelier://orders/1"));
    }
}
