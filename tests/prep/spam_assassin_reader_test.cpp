#include "spam_assassin_reader.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "text/text_document_reader.h"

namespace kd::prep {
namespace {

TEST(MailText, SkipsHeadersWithContinuationLinesAndKeepsSubjectAndBody) {
  const std::string mail =
      "From someone@example.com  Thu Aug 22 12:36:23 2002\n"
      "Received: from relay.example.com\n"
      "\tby mx.example.com with ESMTP id HEADERLEAK\n"
      "Subject: Meeting\n"
      "  moved to Friday\n"
      "X-Mailer: LeakyMailer\n"
      "\n"
      "Hi all,\n\n  the meeting\tmoves.\r\n";
  EXPECT_EQ(mail_text(mail), "Meeting moved to Friday Hi all, the meeting moves.");
}

TEST(MailText, DecodesQuotedPrintableAndLatin1) {
  const std::string mail =
      "Subject: =?iso-8859-1?Q?Caf=E9_ouvert?=\n"
      "Content-Type: text/plain; charset=\"ISO-8859-1\"\n"
      "Content-Transfer-Encoding: quoted-printable\n"
      "\n"
      "caf=E9 soft=\nbreak =3D equals, lone = sign, =\r\nend\n";
  EXPECT_EQ(mail_text(mail), "Caf\xC3\xA9 ouvert caf\xC3\xA9 softbreak = equals, lone = sign, end");
  EXPECT_EQ(decode_quoted_printable("a=3Db=\nc=ZZ"), "a=bc=ZZ");
}

TEST(MailText, MultipartPrefersPlainTextAndSkipsAttachments) {
  const std::string mail =
      "Subject: parts\n"
      "Content-Type: multipart/mixed; boundary=\"OUTER\"\n"
      "\n"
      "This is a multi-part message in MIME format.\n"
      "--OUTER\n"
      "Content-Type: multipart/alternative; boundary=INNER\n"
      "\n"
      "--INNER\n"
      "Content-Type: text/plain; charset=us-ascii\n"
      "\n"
      "plain words\n"
      "--INNER\n"
      "Content-Type: text/html\n"
      "\n"
      "<p>html words</p>\n"
      "--INNER--\n"
      "--OUTER\n"
      "Content-Type: application/octet-stream; name=\"x.bin\"\n"
      "Content-Transfer-Encoding: base64\n"
      "\n"
      "YXR0YWNobWVudCB3b3Jkcw==\n"
      "--OUTER\n"
      "Content-Type: text/plain\n"
      "Content-Disposition: attachment; filename=\"notes.txt\"\n"
      "\n"
      "attached notes\n"
      "--OUTER--\n"
      "epilogue words\n";
  EXPECT_EQ(mail_text(mail), "parts plain words");
}

TEST(MailText, HtmlOnlyIsStrippedOfTagsScriptsStylesCommentsAndEntities) {
  const std::string html =
      "<HTML><HEAD><STYLE>p { color: red }</STYLE><script type=x>var leak = 1;</SCRIPT></HEAD>"
      "<BODY><!-- hidden > comment --><P>Save&nbsp;70%&amp;more</P><br>a &lt; b &#233;t&#xE9; "
      "&bogus; 3 < 4 &Eacute;cole &copy;</BODY></HTML>";
  const std::string mail =
      "Subject: offer\n"
      "Content-Type: multipart/alternative; boundary=B\n\n"
      "--B\nContent-Type: text/html; charset=us-ascii\nContent-Transfer-Encoding: base64\n\n";
  // The HTML part base64-encoded by hand through the decoder's inverse: encode with a table.
  static const char* kTable = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string b64;
  for (size_t i = 0; i < html.size(); i += 3) {
    uint32_t v = static_cast<unsigned char>(html[i]) << 16;
    if (i + 1 < html.size()) v |= static_cast<unsigned char>(html[i + 1]) << 8;
    if (i + 2 < html.size()) v |= static_cast<unsigned char>(html[i + 2]);
    b64 += kTable[(v >> 18) & 63];
    b64 += kTable[(v >> 12) & 63];
    b64 += i + 1 < html.size() ? kTable[(v >> 6) & 63] : '=';
    b64 += i + 2 < html.size() ? kTable[v & 63] : '=';
    if (b64.size() % 76 == 0) b64 += "\n";
  }
  EXPECT_EQ(decode_base64(b64), html);
  const std::string text = mail_text(mail + b64 + "\n--B--\n");
  EXPECT_EQ(text,
            "offer Save 70%&more a < b \xC3\xA9t\xC3\xA9 3 < 4 \xC3\x89"
            "cole \xC2\xA9");
  // HTML sent without a Content-Type, or as text/plain, is still stripped; a stray tag in a plain
  // text is not taken for HTML.
  EXPECT_EQ(mail_text("Subject: s\n\n<html><body><b>bold</b> text</body></html>\n"), "s bold text");
  EXPECT_EQ(mail_text("Subject: s\nContent-Type: text/plain\n\n<font>x</font><br>y<br>z\n"),
            "s x y z");
  EXPECT_EQ(mail_text("Subject: s\n\nuse <br> here &amp; there\n"), "s use <br> here &amp; there");
}

TEST(MailText, TruncatesOnAUtf8BoundaryAndDecodesWindows1252) {
  std::string body;
  for (int i = 0; i < 100; ++i) body += "\xC3\xA9";                 // é
  const std::string text = mail_text("Subject: x\n\n" + body, 12);  // "x " + 5 é = 12 bytes
  EXPECT_EQ(text, "x \xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9");
  EXPECT_EQ(mail_text("Subject: x\n\n" + body, 13), text);  // 13 would split an é
  EXPECT_TRUE(text::valid_utf8(mail_text("Subject: x\n\n" + body, 13)));
  EXPECT_EQ(to_utf8("\x93quoted\x94 caf\xE9", "windows-1252"),
            "\xE2\x80\x9Cquoted\xE2\x80\x9D caf\xC3\xA9");
  EXPECT_EQ(to_utf8("\xB0\xA1x", "gb2312"), "  x");  // not decodable here: spaces
  EXPECT_EQ(truncate_utf8("abc def", 4), "abc");
}

TEST(MailText, NothingButHeadersAndAnAttachmentIsEmpty) {
  EXPECT_EQ(mail_text("From: a@b\nContent-Type: image/gif\n\nR0lGODlh\n"), "");
  EXPECT_EQ(mail_text("From: a@b\nTo: c@d\n"), "");
}

TEST(SpamAssassinReader, ReadsGroupsKindsAndChecksumsAndCountsEmptyMails) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("kd_spam_test_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  EXPECT_FALSE(spam_assassin_present(dir.string()));
  for (const auto& g : spam_assassin_groups()) fs::create_directories(dir / g);
  auto put = [&](const std::string& group, const std::string& name, const std::string& text) {
    std::ofstream(dir / group / name) << text;
  };
  put("easy-ham-1", "00002.bbbb.txt", "Subject: second\n\nbody two\n");
  put("easy-ham-1", "00001.aaaa.txt", "Subject: first\n\nbody one\n");
  put("easy-ham-1", "00001.aaaa.json", "{\"text\": \"not read\"}");
  put("hard-ham-1", "00001.cccc.txt", "Content-Type: image/png\n\niVBOR\n");  // empty text
  put("spam-2", "00001.dddd.txt", "Subject: WIN\n\nmoney\n");
  EXPECT_TRUE(spam_assassin_present(dir.string()));
  const auto data = read_spam_assassin(dir.string());
  EXPECT_EQ(data.files, 4u);
  EXPECT_EQ(data.empty, 1u);
  ASSERT_EQ(data.mails.size(), 3u);
  EXPECT_EQ(data.mails[0].file, "00001.aaaa.txt");
  EXPECT_EQ(data.mails[0].md5, "aaaa");
  EXPECT_EQ(data.mails[0].kind, "easy_ham");
  EXPECT_EQ(data.mails[0].text, "first body one");
  EXPECT_EQ(data.mails[1].md5, "bbbb");
  EXPECT_EQ(data.mails[2].kind, "spam");
  EXPECT_EQ(data.mails[2].group, "spam-2");
  fs::remove_all(dir / "spam-1");
  EXPECT_THROW(read_spam_assassin(dir.string()), std::exception);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace kd::prep
